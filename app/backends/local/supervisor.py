"""The local backend: a supervisor that owns the llama.cpp engine process.

The engine runs in a child process started with the spawn method (it survives
PyInstaller freezing with `multiprocessing.freeze_support()`), so a crash, an
out-of-memory kill or a hung load never takes the app with it. The next request
after a crash starts a fresh engine.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.backends.local.protocol import (
    CountTokens,
    EngineFailure,
    FailureKind,
    Generate,
    GenerationFinished,
    GenerationStarted,
    Health,
    HealthReport,
    Load,
    Loaded,
    NetworkSelfTest,
    Progress,
    Reply,
    Request,
    SelfTestReport,
    Shutdown,
    TextDelta,
    TokenCount,
    Unload,
    end_process,
)
from app.core.errors import (
    ContextTooLong,
    EngineCrashed,
    EngineError,
    EngineHung,
    ModelFileError,
    NotEnoughMemory,
    TandemError,
    UsageError,
)
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Started
from app.core.messages import (
    AUTO_GPU_LAYERS,
    ChatMessage,
    GenerationParams,
    Role,
    load_settings_problem,
)
from app.core.pricing import EnergyModel
from app.core.privacy import ON_THIS_DEVICE
from app.core.reasoning import DeltaKind, StreamClock, ThinkSplitter, template_opens_think
from app.core.stats import AnswerStats, FinishReason

logger = logging.getLogger(__name__)

# How often the supervisor looks at the engine while it waits for a reply: a Stop
# reaches the engine through a callback at once, so this only bounds how soon a dead
# process is noticed. Waking more often takes CPU from llama.cpp's threads.
_POLL_S = 0.25
_LOAD_TIMEOUT_S = 600.0
_DRAIN_TIMEOUT_S = 5.0
# The watchdog: the engine's heartbeat counter (a thread in the engine process) still for
# this long means the process is stopped or stuck, and it is killed. Loading waits longer
# (a first read from a slow disk); a Stop that the engine does not take is given less.
HANG_AFTER_S = 15.0
_LOAD_HANG_FACTOR = 4.0
_STOP_GRACE_S = 0.6


class EngineState(StrEnum):
    STOPPED = "stopped"
    LOADING = "loading"
    READY = "ready"
    GENERATING = "generating"
    CRASHED = "crashed"


@dataclass(frozen=True, slots=True)
class LoadedModel:
    path: Path
    context_length: int
    threads: int
    gpu_layers: int
    gpu_offload_supported: bool
    chat_template: str
    load_s: float
    description: str = ""
    kv_cache_type: str = "f16"
    flash_attention: str = "auto"


def _crash_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        how = f"it was killed by signal {-exitcode}"
        if exitcode == -9:
            how += ", often because the computer ran out of memory"
    elif exitcode is None:
        how = "it stopped answering"
    else:
        how = f"it exited with code {exitcode}"
    return (
        f"The local engine stopped unexpectedly ({how}). Your conversation is kept; "
        "send your message again to start a fresh engine."
    )


def failure_error(failure: EngineFailure) -> TandemError:
    """The error the engine's failure means here: its kind survives the pipe."""
    if failure.kind is FailureKind.CONTEXT:
        return ContextTooLong(failure.message)
    if failure.kind is FailureKind.MODEL_FILE:
        return ModelFileError(failure.message)
    if failure.kind is FailureKind.MEMORY:
        return NotEnoughMemory(failure.message)
    if failure.kind is FailureKind.SETTINGS:
        return UsageError(failure.message)
    return EngineError(failure.message)


_LoadKey = tuple[str, int, int | None, int, str, str, bool]


def _load_key(path: Path, params: GenerationParams) -> _LoadKey:
    return (
        str(path),
        params.context_length,
        params.threads,
        params.gpu_layers,
        str(params.kv_cache_type),
        str(params.flash_attention),
        bool(params.speculative),
    )


def _file_version(path: Path) -> tuple[str, int, int] | None:
    """(path, size, mtime): a file whose check stays valid while these do not change."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_size, stat.st_mtime_ns


class LocalEngine:
    """Owns one engine process and the model loaded in it. One request at a time.

    `on_state(state)` is called from whichever thread changed the state.
    """

    def __init__(
        self,
        on_state: Callable[[EngineState], None] | None = None,
        log_file: Path | None = None,
        check_file: Callable[[Path], object] | None = None,
        hang_after_s: float = HANG_AFTER_S,
        check_memory: Callable[[object, GenerationParams], str] | None = None,
        choose_gpu_layers: Callable[[object, GenerationParams], int] | None = None,
    ) -> None:
        """`check_file` vets a model file before the engine sees it (raising
        ModelFileError); the app passes the GGUF header check from app.library.
        `check_memory(what check_file returned, params)` refuses a load that cannot fit
        in memory (raising NotEnoughMemory) before each load, and says what it expected,
        for the message when a load runs out of memory all the same.
        `hang_after_s`: how long the engine may show no sign of life before the watchdog
        takes it for hung (four times that while loading).
        `choose_gpu_layers(what check_file returned, params)` decides the GPU layers
        when params ask for auto (-1): the app passes the fit estimate's suggestion, so
        a model too big for the GPU is offloaded in part rather than not at all."""
        self.hang_after_s = hang_after_s
        self._choose_gpu_layers = choose_gpu_layers
        self._check_file = check_file
        self._check_memory = check_memory
        # Files that passed the check, as (path, size, mtime): switching back to a model
        # does not read its header again unless the file changed on disk.
        self._checked: dict[tuple[str, int, int], object] = {}
        # Without a log file the engine logs to stderr; the workspace passes the app's.
        self._log_file = log_file
        self._ctx = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Connection | None = None
        # A lock-free shared flag: a process killed while holding a lock (as an Event's
        # would be) must not leave the next engine stuck. Made anew for each process.
        self._cancel: Any = self._ctx.RawValue(ctypes.c_bool, False)
        self._beat: Any = self._ctx.RawValue(ctypes.c_ulonglong, 0)
        self._beat_seen = (0, time.monotonic())  # the counter, and when it last moved
        self._lock = threading.RLock()
        self._loaded: LoadedModel | None = None
        self._loaded_key: _LoadKey | None = None
        self._state = EngineState.STOPPED
        self._on_state = on_state
        self.energy = EnergyModel()

    # ----- state

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _set_state(self, state: EngineState) -> None:
        self._state = state
        if self._on_state is not None:
            self._on_state(state)

    def rss_bytes(self) -> int | None:
        """Memory the engine process holds, read from outside so it works mid-answer."""
        process = self._process
        if process is None or process.pid is None:
            return None
        try:
            import psutil

            return int(psutil.Process(process.pid).memory_info().rss)
        except Exception:  # noqa: BLE001 - the process may just have gone
            return None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    # ----- process

    def _start(self) -> None:
        from app.backends.local.engine import engine_main

        parent, child = self._ctx.Pipe()
        self._cancel = self._ctx.RawValue(ctypes.c_bool, False)
        self._beat = self._ctx.RawValue(ctypes.c_ulonglong, 0)
        self._beat_seen = (0, time.monotonic())
        log_file = None if self._log_file is None else str(self._log_file)
        process = self._ctx.Process(
            target=engine_main,
            args=(child, self._cancel, log_file, self._beat),
            name="tandem-engine",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self._loaded = self._loaded_key = None
        logger.info("engine process started (pid %s)", process.pid)

    def _ensure_started(self) -> Connection:
        if not self.alive or self._conn is None:
            if self._process is not None:
                self._discard_process()
            self._start()
        assert self._conn is not None
        return self._conn

    def _discard_process(self) -> None:
        end_process(self._process, self._conn)
        self._process = self._conn = None
        self._loaded = self._loaded_key = None

    def _crashed(self) -> EngineCrashed:
        exitcode = None
        if self._process is not None:
            self._process.join(timeout=1)
            exitcode = self._process.exitcode
        logger.error("engine process died (exit code %s)", exitcode)
        self._discard_process()
        self._set_state(EngineState.CRASHED)
        return EngineCrashed(_crash_message(exitcode))

    def _recv(self, timeout_s: float, hang_after_s: float | None = None) -> Reply | None:
        """The next reply, None on timeout; EngineCrashed if the process died, EngineHung
        (after killing it) if it showed no sign of life for `hang_after_s`."""
        conn = self._conn
        if conn is None:
            raise self._crashed()
        try:
            if not conn.poll(timeout_s):
                if not self.alive:
                    raise self._crashed()
                self._watch(self.hang_after_s if hang_after_s is None else hang_after_s)
                return None
            reply: Reply = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise self._crashed() from None
        return reply

    def _watch(self, hang_after_s: float) -> None:
        """The watchdog: kill an engine whose heartbeat has stood still too long."""
        beat, since = self._beat.value, time.monotonic()
        if beat != self._beat_seen[0]:
            self._beat_seen = (beat, since)
            return
        still_s = since - self._beat_seen[1]
        if still_s < hang_after_s:
            return
        pid = self.pid
        logger.error(
            "engine process %s showed no sign of life for %.1f s: killing it", pid, still_s
        )
        self._discard_process()
        self._set_state(EngineState.CRASHED)
        raise EngineHung(
            f"The local engine stopped responding (nothing for {still_s:.0f} s) and was "
            "stopped. What it had written is kept; send your message again to start a "
            "fresh engine."
        )

    def _request(self, request: Request) -> None:
        conn = self._ensure_started()
        try:
            conn.send(request)
        except (OSError, BrokenPipeError):
            raise self._crashed() from None

    # ----- protocol

    def load(
        self,
        path: Path,
        params: GenerationParams,
        on_progress: Callable[[float], None] | None = None,
    ) -> LoadedModel:
        """Check the file, then load it in the engine (a no-op when already loaded)."""
        path = Path(path)
        with self._lock:
            key = _load_key(path, params)
            if self._loaded is not None and self._loaded_key == key and self.alive:
                return self._loaded
            problem = load_settings_problem(str(params.kv_cache_type), str(params.flash_attention))
            if problem:
                raise UsageError(problem)
            expected = ""
            gpu_layers = params.gpu_layers
            if self._check_file is not None:
                self._vet(path)
                verdict = self.file_info(path)
                if self._check_memory is not None and verdict is not None:
                    expected = self._check_memory(verdict, params)
                if (
                    self._choose_gpu_layers is not None
                    and verdict is not None
                    and gpu_layers == AUTO_GPU_LAYERS
                ):
                    gpu_layers = self._choose_gpu_layers(verdict, params)
            self._set_state(EngineState.LOADING)
            self._beat_seen = (self._beat.value, time.monotonic())
            self._request(
                Load(
                    path=str(path),
                    context_length=params.context_length,
                    threads=params.threads,
                    gpu_layers=gpu_layers,
                    kv_cache_type=str(params.kv_cache_type),
                    flash_attention=str(params.flash_attention),
                    speculative=bool(params.speculative),
                )
            )
            deadline = time.monotonic() + _LOAD_TIMEOUT_S
            while time.monotonic() < deadline:
                reply = self._recv(0.25, self.hang_after_s * _LOAD_HANG_FACTOR)
                if isinstance(reply, Progress) and on_progress is not None:
                    on_progress(reply.fraction)
                elif isinstance(reply, Loaded):
                    self._loaded = LoadedModel(
                        path=path,
                        context_length=reply.context_length,
                        threads=reply.threads,
                        gpu_layers=reply.gpu_layers,
                        gpu_offload_supported=reply.gpu_offload_supported,
                        chat_template=reply.chat_template,
                        load_s=reply.load_s,
                        description=reply.description,
                        kv_cache_type=reply.kv_cache_type,
                        flash_attention=reply.flash_attention,
                    )
                    self._loaded_key = key
                    self._set_state(EngineState.READY)
                    return self._loaded
                elif isinstance(reply, EngineFailure):
                    self._set_state(EngineState.STOPPED)
                    if reply.kind is FailureKind.MEMORY:
                        raise NotEnoughMemory(f"{reply.message} {expected}".strip())
                    if reply.kind is FailureKind.SETTINGS:
                        raise UsageError(reply.message)
                    raise ModelFileError(reply.message)  # any other kind: the file failed
            self._discard_process()
            self._set_state(EngineState.CRASHED)
            raise EngineCrashed("Loading the model took more than 10 minutes and was stopped.")

    def _vet(self, path: Path) -> None:
        """Refuse a bad file before llama.cpp touches it (once per file version)."""
        assert self._check_file is not None
        version = _file_version(path)
        if version is not None and version in self._checked:
            return
        verdict = self._check_file(path)
        if version is not None:
            self._checked[version] = verdict

    def file_info(self, path: Path) -> object:
        """What the file check said about `path` (a GGUFInfo from the app), if it ran."""
        version = _file_version(Path(path))
        return None if version is None else self._checked.get(version)

    def gpu_offload_supported(self) -> bool | None:
        """Whether this llama.cpp build can offload to a GPU, asked of the engine process
        (llama.cpp is loaded nowhere else). None when it cannot answer."""
        if self._loaded is not None:
            return self._loaded.gpu_offload_supported
        with self._lock:
            try:
                self._request(Health())
                deadline = time.monotonic() + 60.0
                while time.monotonic() < deadline:
                    reply = self._recv(0.25)
                    if isinstance(reply, HealthReport):
                        return reply.gpu_offload_supported
            except EngineCrashed:
                return None
            return None

    def network_self_test(self) -> dict[str, str]:
        """Ask the engine process to try the network; see netguard.self_test."""
        with self._lock:
            self._request(NetworkSelfTest())
            while True:
                reply = self._recv(5.0)
                if isinstance(reply, SelfTestReport):
                    return {str(k): str(v) for k, v in reply.results.items()}
                if reply is None:
                    raise EngineError("The engine did not answer the network self-test.")

    def cancel(self) -> None:
        """Stop the answer in progress; the engine checks this between tokens."""
        self._cancel.value = True

    def generate(
        self,
        model_name: str,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken,
        *,
        stop: Sequence[str] = (),
        prompt: str | None = None,
    ) -> Iterator[Event]:
        """Stream one answer from the loaded model: a chat answer to `messages`, or the
        continuation of a raw `prompt`; `stop` strings end it as the template's do
        (prompt lookup when `params.speculative` is True)."""
        with self._lock:
            yield from self._generate(model_name, messages, params, cancel, tuple(stop), prompt)

    def _generate(
        self,
        model_name: str,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken,
        stop_strings: tuple[str, ...] = (),
        prompt: str | None = None,
    ) -> Iterator[Event]:
        requested_at = time.perf_counter()
        if self._loaded is None or not self.alive:
            yield Failed(EngineError("No model is loaded. Choose a model first."))
            return
        wire = [m.to_dict() for m in messages]
        if params.system_prompt.strip() and not any(m.role is Role.SYSTEM for m in messages):
            wire.insert(0, {"role": "system", "content": params.system_prompt})
        self._cancel.value = False
        self._beat_seen = (self._beat.value, time.monotonic())
        try:
            self._request(
                Generate(
                    messages=tuple(wire),
                    max_tokens=params.max_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    seed=params.seed,
                    stop=stop_strings,
                    prompt=prompt,
                    speculative=bool(params.speculative),
                )
            )
        except EngineCrashed as exc:
            yield Failed(exc)
            return
        self._set_state(EngineState.GENERATING)
        done = False
        clock = StreamClock(requested_at)
        template = getattr(self.file_info(self._loaded.path), "chat_template", None)
        splitter = ThinkSplitter(inside=template_opens_think(template))
        reasoning: list[str] = []
        flag = self._cancel

        def stop() -> None:
            flag.value = True

        forget = cancel.on_cancel(stop)
        try:
            while True:
                try:
                    # After a Stop, an engine that shows no sign of life is not waited for.
                    reply = self._recv(_POLL_S, _STOP_GRACE_S if flag.value else None)
                except EngineCrashed as exc:
                    done = True
                    yield Failed(exc)
                    return
                if reply is None:
                    continue
                if isinstance(reply, GenerationStarted):
                    yield Started(model=model_name, backend="local")
                elif isinstance(reply, TextDelta):
                    now = time.perf_counter()
                    for piece in splitter.feed(reply.text):
                        clock.saw(piece.kind, now)
                        if piece.kind is DeltaKind.REASONING:
                            reasoning.append(piece.text)
                        yield Delta(piece.text, piece.kind)
                elif isinstance(reply, GenerationFinished):
                    done = True
                    self._set_state(EngineState.READY)
                    for piece in splitter.flush():
                        clock.saw(piece.kind, time.perf_counter())
                        if piece.kind is DeltaKind.REASONING:
                            reasoning.append(piece.text)
                        yield Delta(piece.text, piece.kind)
                    ttft = clock.time_to_first_token_s
                    stats = _local_stats(model_name, reply, ttft, self.energy)
                    if reasoning:
                        stats = replace(
                            stats,
                            reasoning_tokens=self._count_tokens("".join(reasoning)),
                            reasoning_s=clock.reasoning_s,
                            time_to_first_answer_token_s=clock.time_to_first_answer_token_s,
                        )
                    yield Finished(stats)
                    return
                elif isinstance(reply, EngineFailure):
                    done = True
                    self._set_state(EngineState.READY)
                    yield Failed(failure_error(reply))
                    return
        finally:
            forget()
            if not done:
                self._abandon()

    def _count_tokens(self, text: str) -> int | None:
        """The loaded model's own token count of `text`; None when the engine cannot say."""
        try:
            self._request(CountTokens(text))
            while True:
                reply = self._recv(5.0, self.hang_after_s)
                if isinstance(reply, TokenCount):
                    return reply.count
                if reply is None or isinstance(reply, EngineFailure):
                    return None
        except TandemError:  # crashed or hung: the answer stands, its count is unknown
            return None

    def _abandon(self) -> None:
        """The caller stopped listening mid-answer: stop the engine and resynchronise."""
        self._cancel.value = True
        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                reply = self._recv(0.1, _STOP_GRACE_S)
                if isinstance(reply, GenerationFinished | EngineFailure):
                    self._set_state(EngineState.READY)
                    return
        except EngineCrashed:
            return
        self._discard_process()
        self._set_state(EngineState.STOPPED)

    def unload(self) -> None:
        with self._lock:
            if self.alive:
                self._request(Unload())
            self._loaded = self._loaded_key = None
            self._set_state(EngineState.STOPPED if not self.alive else EngineState.READY)

    def kill(self) -> None:
        """End the engine process at once (used when the app quits, and by tests)."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()

    def shutdown(self) -> None:
        if self._conn is not None and self.alive:
            try:
                self._conn.send(Shutdown())
                self._process.join(timeout=3)
            except (OSError, BrokenPipeError):
                pass
        self._discard_process()
        self._state = EngineState.STOPPED


def _local_stats(
    model_name: str, data: GenerationFinished, ttft: float | None, energy: EnergyModel
) -> AnswerStats:
    prompt_tokens = data.prompt_tokens
    cached = data.cached_tokens
    completion = data.completion_tokens
    sampled = data.sampled_tokens
    decode_s = data.decode_s
    prompt_eval_s = data.prompt_eval_s
    energy_wh, energy_estimated = energy.energy_wh(data.cpu_s, data.rapl_joules)
    return AnswerStats(
        model=model_name,
        backend="local",
        host=None,
        privacy=ON_THIS_DEVICE,
        finish_reason=FinishReason(data.finish_reason),
        time_to_first_token_s=ttft,
        tokens_per_s=(sampled - 1) / decode_s if sampled > 1 and decode_s > 0 else 0.0,
        prompt_tokens_per_s=(prompt_tokens - cached) / prompt_eval_s if prompt_eval_s else 0.0,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        estimated=False,
        cost_usd=0.0,
        prompt_tokens_cached=cached,
        energy_wh=energy_wh,
        energy_estimated=energy_estimated,
        electricity_usd=energy.cost_usd(energy_wh),
        draft_tokens=data.draft_tokens,
        draft_accepted=data.draft_accepted,
    )


class LocalBackend:
    """A local model as a Backend: loads on first use, restarts after a crash."""

    def __init__(
        self,
        engine: LocalEngine,
        model_path: Path,
        model_name: str,
        speculative: bool = False,
        *,
        stop: Sequence[str] = (),
        prompt: str | None = None,
    ) -> None:
        """`speculative`: prompt-lookup drafting for this model, unless the parameters
        of an answer say otherwise; `stop`: extra stop strings; `prompt`: continue this
        raw text instead of answering the messages (a completion rather than a chat)."""
        self.engine = engine
        self.model_path = Path(model_path)
        self.name = model_name
        self.leaves_device = False
        self.speculative = speculative
        self.stop = tuple(stop)
        self.prompt = prompt

    def with_request(self, *, stop: Sequence[str] = (), prompt: str | None = None) -> LocalBackend:
        """The same model, with stop strings or a raw prompt for one request."""
        return LocalBackend(
            self.engine, self.model_path, self.name, self.speculative, stop=stop, prompt=prompt
        )

    def _params(self, params: GenerationParams) -> GenerationParams:
        if params.speculative is None:
            return params.with_(speculative=self.speculative)
        return params

    def run_info(self, params: GenerationParams) -> dict[str, object]:
        from app.backends.base import hardware_summary, sampling

        loaded = self.engine.loaded
        info: dict[str, object] = {
            "model_file": self.model_path.name,
            "quantization": getattr(self.engine.file_info(self.model_path), "quantization", None),
            "context_length": loaded.context_length if loaded else params.context_length,
            "gpu_layers": loaded.gpu_layers if loaded else params.gpu_layers,
            "threads": loaded.threads if loaded else params.threads,
            "chat_template": loaded.chat_template if loaded else None,
            "sampling": sampling(params),
            "hardware": hardware_summary(),
            "kv_cache_type": loaded.kv_cache_type if loaded else str(params.kv_cache_type),
            "flash_attention": loaded.flash_attention if loaded else str(params.flash_attention),
            "speculative": bool(self._params(params).speculative),
        }
        info["model_desc"] = loaded.description if loaded else None
        return info

    def stream(
        self, messages: Sequence[ChatMessage], params: GenerationParams, cancel: CancelToken
    ) -> Iterator[Event]:
        params = self._params(params)
        try:
            self.engine.load(self.model_path, params)
        except TandemError as exc:
            yield Failed(exc)
            return
        yield from self.engine.generate(
            self.name, messages, params, cancel, stop=self.stop, prompt=self.prompt
        )
