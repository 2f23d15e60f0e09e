"""Chat messages and the parameters of one generation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"
    STOPPED = "stopped"  # the user pressed Stop; the partial text stays
    INCOMPLETE = "incomplete"  # the engine or the connection died midway
    ERROR = "error"  # nothing usable came back
    INTERRUPTED = "interrupted"  # the app closed or crashed while it streamed


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": str(self.role), "content": self.content}


AUTO_GPU_LAYERS = -1

# The allowed range of each number in GenerationParams, for the settings file, the CLI's
# options and the window's controls alike.
GENERATION_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 5.0),
    "top_p": (0.0, 1.0),
    "max_tokens": (1, 1_000_000),
    "context_length": (128, 10_000_000),
    "threads": (1, 512),
    "gpu_layers": (AUTO_GPU_LAYERS, 100_000),
    "seed": (0, 2**32 - 1),
}


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """What the user can set for an answer. `None` means the engine's own default."""

    system_prompt: str = ""
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    context_length: int = 4096
    threads: int | None = None
    gpu_layers: int = AUTO_GPU_LAYERS
    seed: int | None = None

    def with_(self, **changes: object) -> GenerationParams:
        return replace(self, **changes)  # type: ignore[arg-type]
