"""The OpenAI and Anthropic wire formats: what a request may hold, and how an answer reads.

Requests are checked by pydantic models (a wrong type, a value out of range or a missing
field becomes a 400 that names the field); unknown fields are ignored, as OpenAI's own
server does for fields it does not know.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.core.messages import GENERATION_RANGES
from app.core.privacy import ON_THIS_DEVICE
from app.core.stats import AnswerStats, FinishReason

_T = GENERATION_RANGES["temperature"]
_P = GENERATION_RANGES["top_p"]
_N = GENERATION_RANGES["max_tokens"]
_S = GENERATION_RANGES["seed"]

Temperature = Annotated[float, Field(ge=_T[0], le=_T[1], strict=False)]
TopP = Annotated[float, Field(ge=_P[0], le=_P[1])]
MaxTokens = Annotated[int, Field(ge=int(_N[0]), le=int(_N[1]), strict=True)]
Seed = Annotated[int, Field(ge=int(_S[0]), le=int(_S[1]), strict=True)]
MAX_STOPS = 4


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Request):
    type: Literal["text"]
    text: str


class Message(_Request):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Request):
    include_usage: bool = False


def _stops(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    stops = [value] if isinstance(value, str) else value
    if len(stops) > MAX_STOPS:
        raise ValueError(f"at most {MAX_STOPS} stop strings")
    return [s for s in stops if s]


class _Sampling(_Request):
    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    seed: Seed | None = None
    stop: str | list[str] | None = None
    n: Literal[1] = 1

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        _stops(value)
        return value

    @property
    def stops(self) -> list[str]:
        return _stops(self.stop)

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class ChatRequest(_Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: MaxTokens | None = None
    tools: list[Any] | None = None

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, value: list[Any] | None) -> list[Any] | None:
        if value:
            raise ValueError("tool calls are not supported by local models here yet")
        return value


class CompletionRequest(_Sampling):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) != 1:
            raise ValueError("give one prompt (a string, or a list holding one string)")
        return value

    @property
    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


class AnthropicMessage(_Request):
    role: Literal["user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class AnthropicRequest(_Request):
    model: str | None = None
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: str | list[TextPart] | None = None
    max_tokens: MaxTokens
    temperature: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    top_p: TopP | None = None
    stop_sequences: list[str] | None = Field(default=None, max_length=MAX_STOPS)
    stream: bool = False

    @property
    def system_text(self) -> str:
        if self.system is None:
            return ""
        if isinstance(self.system, str):
            return self.system
        return "".join(part.text for part in self.system)


class EmbeddingsRequest(_Request):
    model: str | None = None
    input: str | list[str] = Field(union_mode="left_to_right")
    encoding_format: Literal["float", "base64"] = "float"

    @field_validator("input")
    @classmethod
    def _some_input(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not 1 <= len(value) <= MAX_EMBEDDING_INPUTS:
            raise ValueError(f"give from 1 to {MAX_EMBEDDING_INPUTS:,} texts")
        return value

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


MAX_EMBEDDING_INPUTS = 2048


def embeddings(vectors: list[list[float]], model: str, prompt_tokens: int, as_base64: bool,
               seconds: float) -> dict[str, Any]:  # fmt: skip
    import base64
    import struct

    def encode(vector: list[float]) -> Any:
        if not as_base64:
            return vector
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")

    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)}
                 for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        "tandem": {"model": model, "backend": "local", "time_to_first_token_s": None,
                   "tokens_per_s": 0.0,
                   "prompt_tokens_per_s": prompt_tokens / seconds if seconds > 0 else 0.0,
                   "privacy": ON_THIS_DEVICE, "cost_usd": 0.0, "cloud_equivalent_usd": None},
    }  # fmt: skip


def validation_message(exc: ValidationError) -> str:
    """One readable sentence per wrong field: `messages.0.role: Input should be ...`."""
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "The request is not valid: " + "; ".join(parts) + "."


# ----- answers


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def finish_reason(stats: AnswerStats | None) -> str:
    if stats is not None and stats.finish_reason is FinishReason.LENGTH:
        return "length"
    return "stop"


def usage(stats: AnswerStats | None) -> dict[str, int]:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.completion_tokens if stats else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def tandem_facts(stats: AnswerStats | None) -> dict[str, Any]:
    """The three facts of one answer, as every response carries them."""
    if stats is None:
        return {}
    return {
        "model": stats.model,
        "backend": stats.backend,
        "time_to_first_token_s": stats.time_to_first_token_s,
        "tokens_per_s": stats.tokens_per_s,
        "prompt_tokens_per_s": stats.prompt_tokens_per_s,
        "prompt_tokens_cached": stats.prompt_tokens_cached,
        "privacy": stats.privacy,
        "cost_usd": stats.cost_usd,
        "cloud_equivalent_usd": stats.cloud_equivalent_usd,
        "cloud_equivalent_model": stats.cloud_equivalent_model,
        "energy_wh": stats.energy_wh,
        "estimated": stats.estimated,
        "stopped": stats.finish_reason is FinishReason.CANCELLED,
    }


def chat_completion(
    answer_id: str, model: str, text: str, stats: AnswerStats | None
) -> dict[str, Any]:
    return {
        "id": answer_id,
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason(stats),
                "logprobs": None,
            }
        ],
        "usage": usage(stats),
        "tandem": tandem_facts(stats),
    }


def chat_chunk(
    answer_id: str, model: str, delta: dict[str, str], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": answer_id,
        "object": "chat.completion.chunk",
        "created": now(),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def completion(answer_id: str, model: str, text: str, stats: AnswerStats | None) -> dict[str, Any]:
    return {
        "id": answer_id,
        "object": "text_completion",
        "created": now(),
        "model": model,
        "choices": [
            {"index": 0, "text": text, "finish_reason": finish_reason(stats), "logprobs": None}
        ],
        "usage": usage(stats),
        "tandem": tandem_facts(stats),
    }


def completion_chunk(
    answer_id: str, model: str, text: str, finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": answer_id,
        "object": "text_completion",
        "created": now(),
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
    }


def anthropic_stop_reason(stats: AnswerStats | None, stopped_by: str | None) -> str:
    if stats is not None and stats.finish_reason is FinishReason.LENGTH:
        return "max_tokens"
    return "stop_sequence" if stopped_by else "end_turn"


def anthropic_usage(stats: AnswerStats | None) -> dict[str, int]:
    return {
        "input_tokens": stats.prompt_tokens if stats else 0,
        "output_tokens": stats.completion_tokens if stats else 0,
    }


def anthropic_message(
    answer_id: str, model: str, text: str, stats: AnswerStats | None
) -> dict[str, Any]:
    return {
        "id": answer_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": anthropic_stop_reason(stats, None),
        "stop_sequence": None,
        "usage": anthropic_usage(stats),
        "tandem": tandem_facts(stats),
    }


# ----- errors


OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "server_busy",
}


def openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = OPENAI_ERROR_TYPES.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    503: "overloaded_error",
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
