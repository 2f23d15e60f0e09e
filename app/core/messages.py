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


class KVCacheType(StrEnum):
    """How llama.cpp stores the context's keys and values: f16 is exact; q8_0 takes about
    half its memory, q4_0 about a quarter (both need flash attention)."""

    F16 = "f16"
    Q8_0 = "q8_0"
    Q4_0 = "q4_0"


class FlashAttention(StrEnum):
    AUTO = "auto"  # see flash_attention_for_load
    ON = "on"
    OFF = "off"


def flash_attention_for_load(
    flash_attention: str, kv_cache_type: str, speculative: bool, on_gpu: bool
) -> FlashAttention:
    """What a load asks llama.cpp for. "auto" is on where it is needed (a quantized KV
    cache; prompt lookup, whose drafts are checked in a batch and give exactly the
    one-token logits only with flash attention), llama.cpp's own choice where layers run
    on a GPU, and off on the CPU otherwise: there llama.cpp's flash attention is much
    slower deep into a conversation (docs/performance.md). On and off are as asked."""
    chosen = FlashAttention(flash_attention)
    if chosen is not FlashAttention.AUTO:
        return chosen
    if kv_cache_type != KVCacheType.F16 or speculative:
        return FlashAttention.ON
    return FlashAttention.AUTO if on_gpu else FlashAttention.OFF


def load_settings_problem(kv_cache_type: str, flash_attention: str) -> str | None:
    """Why llama.cpp cannot load with this KV cache type and flash attention, for a
    person; None when the combination can load."""
    kinds = [str(k) for k in KVCacheType]
    if kv_cache_type not in kinds:
        return f"The KV cache type {kv_cache_type!r} is not one of {', '.join(kinds)}."
    modes = [str(m) for m in FlashAttention]
    if flash_attention not in modes:
        return f"Flash attention {flash_attention!r} is not one of {', '.join(modes)}."
    if kv_cache_type != KVCacheType.F16 and flash_attention == FlashAttention.OFF:
        return (
            f"A {kv_cache_type} KV cache needs flash attention: llama.cpp stores quantized "
            "values only with it. Set flash attention to on or auto, or the KV cache to f16."
        )
    return None


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
    kv_cache_type: KVCacheType = KVCacheType.F16
    flash_attention: FlashAttention = FlashAttention.AUTO
    # Prompt-lookup drafting; None: as set for the model (Settings.speculative_models).
    speculative: bool | None = None

    def with_(self, **changes: object) -> GenerationParams:
        return replace(self, **changes)  # type: ignore[arg-type]
