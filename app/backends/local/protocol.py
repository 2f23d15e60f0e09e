"""What the supervisor and the engine process say to each other over their pipe.

One frozen dataclass per request and per reply, imported by both sides, so a field
cannot be misspelt on one side only and an error's kind survives the pipe. Every
message carries a `request_id` (replies echo the request's) and a model `slot`, so
that several clients of one engine and a second model (embeddings next to chat) can
share the pipe; text arrives on a `channel` (`text` now, `reasoning` next).

Only plain values travel: the module imports nothing from llama-cpp-python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

CHAT_SLOT = "chat"


class Channel(StrEnum):
    TEXT = "text"  # the visible answer
    REASONING = "reasoning"  # a model's thinking, shown collapsed


class FailureKind(StrEnum):
    ENGINE = "engine"  # the engine refused or failed, and is still alive
    MODEL_FILE = "model_file"  # llama.cpp could not load the file
    MEMORY = "memory"  # llama.cpp could not allocate the model or its context
    CONTEXT = "context"  # the message does not fit the model's context
    TEMPLATE = "template"  # the model's chat template failed
    SETTINGS = "settings"  # llama.cpp cannot load with these load settings here


# ----- requests (supervisor -> engine)


@dataclass(frozen=True, slots=True)
class Load:
    path: str
    context_length: int = 4096
    threads: int | None = None
    gpu_layers: int = -1  # -1: as many as the build and the device allow
    kv_cache_type: str = "f16"  # f16, q8_0 or q4_0, for keys and values alike
    flash_attention: str = "auto"  # auto, on or off
    speculative: bool = False  # answers will draft: "auto" flash attention turns on
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class Generate:
    messages: tuple[dict[str, str], ...]
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    stop: tuple[str, ...] = ()  # the caller's stop strings, on top of the template's
    prompt: str | None = None  # a raw prompt: no chat template, `messages` unused
    request_id: int = 0
    slot: str = CHAT_SLOT
    speculative: bool = False  # prompt-lookup drafting (app/backends/local/lookup.py)


@dataclass(frozen=True, slots=True)
class CountTokens:
    """How many tokens the loaded model's own tokenizer makes of `text` (a model's
    reasoning, counted apart from its answer)."""

    text: str
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class Unload:
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class Health:
    request_id: int = 0


@dataclass(frozen=True, slots=True)
class NetworkSelfTest:
    request_id: int = 0


@dataclass(frozen=True, slots=True)
class Shutdown:
    request_id: int = 0


Request = Load | Generate | CountTokens | Unload | Health | NetworkSelfTest | Shutdown


# ----- replies (engine -> supervisor)


@dataclass(frozen=True, slots=True)
class Progress:
    fraction: float
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class Loaded:
    path: str
    context_length: int
    threads: int
    gpu_layers: int
    gpu_offload_supported: bool
    chat_template: str
    load_s: float
    description: str = ""
    rss_bytes: int = 0
    kv_cache_type: str = "f16"
    flash_attention: str = "auto"  # as asked of llama.cpp: on, off, or auto on a GPU
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class GenerationStarted:
    prompt_tokens: int
    cached_tokens: int
    dropped_messages: int
    template: str
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    channel: Channel = Channel.TEXT
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class GenerationFinished:
    finish_reason: str  # a FinishReason value: stop, length, cancelled
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    sampled_tokens: int
    prompt_eval_s: float
    decode_s: float
    dropped_messages: int = 0
    rss_bytes: int = 0
    cpu_s: float = 0.0
    rapl_joules: float | None = None
    reasoning_tokens: int = 0
    draft_tokens: int = 0  # tokens proposed by prompt lookup
    draft_accepted: int = 0  # of those, how many the model agreed with
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class TokenCount:
    count: int
    request_id: int = 0
    slot: str = CHAT_SLOT


@dataclass(frozen=True, slots=True)
class HealthReport:
    gpu_offload_supported: bool | None
    loaded: bool
    path: str | None
    rss_bytes: int
    pid: int
    request_id: int = 0


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    results: dict[str, str] = field(default_factory=dict)
    request_id: int = 0


@dataclass(frozen=True, slots=True)
class EngineFailure:
    kind: FailureKind
    message: str
    request_id: int = 0
    slot: str = CHAT_SLOT


Reply = (
    Progress
    | Loaded
    | GenerationStarted
    | TextDelta
    | GenerationFinished
    | TokenCount
    | HealthReport
    | SelfTestReport
    | EngineFailure
)

# A request ends when one of these arrives for it.
FINAL_REPLIES = (
    Loaded,
    GenerationFinished,
    TokenCount,
    HealthReport,
    SelfTestReport,
    EngineFailure,
)


def end_process(process: BaseProcess | None, conn: Connection | None) -> None:
    """Close the pipe to an engine process and make sure the process is gone."""
    if conn is not None:
        conn.close()
    if process is not None and process.is_alive():
        process.kill()
    if process is not None:
        process.join(timeout=2)
