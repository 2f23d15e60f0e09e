"""Turn chat messages into the prompt text a model expects, from its own chat template."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

CHATML_STOP = "<|im_end|>"


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    stop: tuple[str, ...]
    added_special: bool  # the template already put BOS in the text
    template: str  # "gguf" or "chatml"


def _chatml(messages: Sequence[dict[str, str]]) -> str:
    parts = [f"<|im_start|>{m['role']}\n{m['content']}{CHATML_STOP}\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


class PromptBuilder:
    """Renders with the GGUF's template in llama-cpp-python's sandboxed Jinja formatter.

    A model without a template falls back to ChatML, and the log says so.
    """

    def __init__(self, template: str | None, bos_token: str, eos_token: str) -> None:
        self._formatter: Any = None
        self._eos_token = eos_token
        if template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=eos_token, bos_token=bos_token
            )
        else:
            logger.warning("the model has no chat template; using ChatML")

    @property
    def template_kind(self) -> str:
        return "gguf" if self._formatter is not None else "chatml"

    def build(self, messages: Sequence[dict[str, str]]) -> Prompt:
        if self._formatter is None:
            return Prompt(_chatml(messages), (CHATML_STOP,), False, "chatml")
        result = self._formatter(messages=list(messages))
        stops = result.stop if isinstance(result.stop, list) else [result.stop]
        return Prompt(
            result.prompt,
            tuple(s for s in stops if s),
            bool(result.added_special),
            "gguf",
        )
