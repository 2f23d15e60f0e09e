"""The llama.cpp engine, running in its own process.

It serves the typed protocol of `protocol.py` over a pipe, and reaches llama-cpp-python
through `llama_adapter.py` (imported here only, inside the engine process).
Cancellation is a shared flag checked between tokens, so Stop never waits for a
message queue.

The hot loop stays as close to `Llama.generate` as possible: token pieces are cached
bytes, stop strings are checked on the tail only, and text goes back in batches of
at most one per `_SEND_INTERVAL_S` rather than one message per token.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from app.backends.local.lookup import PromptLookup
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
)
from app.core.messages import FlashAttention, flash_attention_for_load, load_settings_problem

logger = logging.getLogger(__name__)

_SEND_INTERVAL_S = 0.03
_PROGRESS_STEP = 0.05
_PREWARM_CHUNK = 32  # tokens evaluated between checks for a waiting request


class _Refused(Exception):
    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _out_of_memory(req: Load) -> _Refused:
    return _Refused(
        FailureKind.MEMORY,
        f"There was not enough memory to load {os.path.basename(req.path)} with a context "
        f"of {req.context_length:,} tokens; the model file is fine.",
    )


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001 - memory figure is best effort
        return 0


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could be the start of a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class Engine:
    def __init__(
        self,
        send: Callable[[Reply], None],
        cancel: Any,
        pending: Callable[[], bool] = lambda: False,
    ) -> None:
        """`pending()` says whether a request is waiting; background work yields to it."""
        self._send = send
        self._cancel = cancel
        self._pending = pending
        self._llama: Any = None
        self._builder: Any = None
        self._path: str | None = None
        self._pieces: dict[int, bytes] = {}
        self._loaded: Loaded | None = None
        self._decoder: Any = None
        self._exact_drafts = False

    # ----- load / unload

    def load(self, req: Load) -> None:
        from app.backends.local import llama_adapter as llama_api
        from app.backends.local.prompt import PromptBuilder

        self.unload()
        last = [-1.0]

        def on_progress(fraction: float) -> None:
            if fraction - last[0] >= _PROGRESS_STEP or fraction >= 1.0:
                last[0] = fraction
                self._send(Progress(fraction, req.request_id, req.slot))

        supports_gpu = llama_api.supports_gpu_offload()
        gpu_layers = req.gpu_layers
        if gpu_layers < 0:
            gpu_layers = -1 if supports_gpu else 0
        threads = req.threads or default_threads()
        problem = load_settings_problem(req.kv_cache_type, req.flash_attention)
        if problem:
            raise _Refused(FailureKind.SETTINGS, problem)
        flash = str(
            flash_attention_for_load(
                req.flash_attention,
                req.kv_cache_type,
                req.speculative,
                on_gpu=supports_gpu and gpu_layers != 0,
            )
        )
        started = time.perf_counter()
        try:
            llama = llama_api.load(
                req.path,
                context_length=req.context_length,
                threads=threads,
                gpu_layers=gpu_layers,
                on_progress=on_progress,
                kv_cache_type=req.kv_cache_type,
                flash_attention=flash,
            )
        except MemoryError as exc:
            raise _out_of_memory(req) from exc
        except (ValueError, RuntimeError, OSError) as exc:
            # The file passed the GGUF check; what fails after the model is read is the
            # context's allocation (llama-cpp-python says only "Failed to create
            # llama_context"): that is memory, not the file, unless the load settings
            # asked for something this build or device cannot do.
            if "llama_context" in str(exc):
                if req.kv_cache_type != "f16" or flash == FlashAttention.ON:
                    raise _Refused(
                        FailureKind.SETTINGS,
                        f"llama.cpp could not set up {os.path.basename(req.path)} with a "
                        f"{req.kv_cache_type} KV cache and flash attention "
                        f"{flash}: this device or build may not support that "
                        "combination, or memory ran out. Try KV cache f16 and flash "
                        "attention auto.",
                    ) from exc
                raise _out_of_memory(req) from exc
            raise _Refused(
                FailureKind.MODEL_FILE,
                f"llama.cpp could not load {os.path.basename(req.path)}: {exc}. The file "
                "may be damaged or use an architecture this version does not support.",
            ) from exc
        load_s = time.perf_counter() - started
        bos = llama_api.token_text(llama, llama.token_bos())
        eos = llama_api.token_text(llama, llama.token_eos())
        template = llama.metadata.get("tokenizer.chat_template")
        try:
            builder = PromptBuilder(template, bos, eos)
        except Exception as exc:  # noqa: BLE001 - a template that does not compile
            logger.warning("the model's chat template does not compile (%s); using ChatML", exc)
            builder = PromptBuilder(None, bos, eos)
        self._llama, self._builder, self._path = llama, builder, req.path
        self._pieces = {}
        self._decoder = llama_api.Decoder(llama)
        # Drafts checked in a batch match one-token steps exactly only with flash attention.
        self._exact_drafts = flash != FlashAttention.OFF
        self._vocab = self._decoder.vocab
        self._piece_buf = ctypes.create_string_buffer(256)
        self._loaded = Loaded(
            path=req.path,
            context_length=llama.n_ctx(),
            threads=threads,
            gpu_layers=gpu_layers,
            gpu_offload_supported=supports_gpu,
            chat_template=builder.template_kind,
            load_s=load_s,
            description=_describe(llama),
            rss_bytes=_rss_bytes(),
            kv_cache_type=req.kv_cache_type,
            flash_attention=flash,
            request_id=req.request_id,
            slot=req.slot,
        )
        self._send(self._loaded)

    def unload(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        if self._llama is not None:
            self._llama.close()
        self._llama = self._builder = self._path = None

    def count_tokens(self, req: CountTokens) -> None:
        if self._llama is None:
            raise _Refused(FailureKind.ENGINE, "no model is loaded")
        tokens = self._llama.tokenize(req.text.encode("utf-8"), add_bos=False, special=False)
        self._send(TokenCount(len(tokens), req.request_id, req.slot))

    def health(self, req: Health) -> None:
        from app.backends.local import llama_adapter as llama_api

        self._send(
            HealthReport(
                gpu_offload_supported=llama_api.supports_gpu_offload(),
                loaded=self._llama is not None,
                path=self._path,
                rss_bytes=_rss_bytes(),
                pid=os.getpid(),
                request_id=req.request_id,
            )
        )

    # ----- generate

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            from app.backends.local import llama_adapter as llama_api

            piece = llama_api.token_piece(self._vocab, token, self._piece_buf)
            self._pieces[token] = piece
        return piece

    def _fit_prompt(
        self, messages: list[dict[str, str]], max_tokens: int
    ) -> tuple[list[int], Any, int]:
        """Tokenize, leaving out the oldest turns when the context cannot hold them."""
        llama = self._llama
        n_ctx = llama.n_ctx()
        reserve = max(1, min(max_tokens, n_ctx // 4))
        system = [m for m in messages if m["role"] == "system"][:1]
        turns = [m for m in messages if m["role"] != "system"]
        dropped = 0
        while True:
            prompt = self._builder.build(system + turns)
            tokens = llama.tokenize(
                prompt.text.encode("utf-8"), add_bos=not prompt.added_special, special=True
            )
            if len(tokens) + reserve <= n_ctx:
                return tokens, prompt, dropped
            if len(turns) <= 1:
                raise _Refused(
                    FailureKind.CONTEXT,
                    f"This message is {len(tokens):,} tokens, more than the model's context "
                    f"of {n_ctx:,} tokens leaves room for. Shorten it, or raise the context "
                    "length in Parameters.",
                )
            turns = turns[1:]
            dropped += 1
            while len(turns) > 1 and turns[0]["role"] != "user":
                turns = turns[1:]
                dropped += 1

    def _raw_prompt(self, text: str) -> tuple[list[int], tuple[str, ...], str, int]:
        """A completion prompt as it is: tokenized with BOS, no template, nothing dropped."""
        llama = self._llama
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)
        if len(tokens) + 1 > llama.n_ctx():
            raise _Refused(
                FailureKind.CONTEXT,
                f"This prompt is {len(tokens):,} tokens, more than the model's context of "
                f"{llama.n_ctx():,} tokens leaves room for. Shorten it, or raise the context "
                "length.",
            )
        return tokens, (), "raw", 0

    def generate(self, req: Generate) -> None:
        if self._llama is None:
            raise _Refused(FailureKind.ENGINE, "No model is loaded. Choose a model first.")
        from app.backends.local import llama_adapter as llama_api

        cancel = self._cancel
        requested_at = time.perf_counter()
        cpu_before = time.process_time()
        rapl_before = _rapl_uj()
        max_tokens = req.max_tokens
        messages = list(req.messages)
        if req.prompt is not None:
            tokens, template_stops, template, dropped = self._raw_prompt(req.prompt)
        else:
            try:
                tokens, prompt, dropped = self._fit_prompt(messages, max_tokens)
            except _Refused:
                raise
            except Exception as exc:  # jinja SecurityError and template errors
                raise _Refused(
                    FailureKind.TEMPLATE,
                    f"The model's chat template failed and was stopped ({type(exc).__name__}: "
                    f"{exc}). Try another model.",
                ) from exc
            template_stops, template = tuple(prompt.stop), prompt.template
        decoder = self._decoder
        cached = min(_common_prefix(decoder.evaluated(), tokens), len(tokens) - 1)
        decoder.keep(cached)
        cached = decoder.n_past  # 0 where llama.cpp could not cut the cache

        n_ctx = decoder.n_ctx
        budget = min(max_tokens, n_ctx - len(tokens))
        stops = (*template_stops, *(s for s in req.stop if s))
        vocab = decoder.vocab
        is_eog = llama_api.end_of_generation_check()
        piece = self._piece
        utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        send = self._send
        request_id, slot = req.request_id, req.slot

        self._send(
            GenerationStarted(
                prompt_tokens=len(tokens),
                cached_tokens=cached,
                dropped_messages=dropped,
                template=template,
                request_id=request_id,
                slot=slot,
            )
        )
        text = ""
        emitted = 0
        completion = 0
        sampled = 0
        drafted = accepted = 0
        finish = "length"
        first_at = last_at = 0.0
        last_send = 0.0
        leading = req.prompt is None  # a chat answer starts at its first visible character
        sampler = decoder.sampler(
            temperature=req.temperature,
            top_k=req.top_k,
            top_p=req.top_p,
            min_p=req.min_p,
            repeat_penalty=req.repeat_penalty,
            seed=req.seed,
        )
        sample = sampler.sample
        step = decoder.stepper()
        lookup = PromptLookup(tokens) if req.speculative and self._exact_drafts else None
        stepped: list[int] = []  # evaluated one by one, noted in the cache's record after
        try:
            decoder.prompt(tokens[cached:])
            pending = [sample()]
            while True:
                done = False
                for token in pending:
                    now = time.perf_counter()
                    sampled += 1
                    if sampled == 1:
                        first_at = now
                    last_at = now
                    if is_eog(vocab, token):
                        finish = "stop"
                        done = True
                        break
                    completion += 1
                    chunk = utf8.decode(piece(token))
                    if chunk:
                        if leading:
                            chunk = chunk.lstrip()
                            leading = not chunk
                        text += chunk
                        if stops:
                            hit = min(
                                (
                                    i
                                    for s in stops
                                    if (i := text.find(s, max(0, emitted - len(s)))) >= 0
                                ),
                                default=-1,
                            )
                            if hit >= 0:
                                text = text[:hit]
                                finish = "stop"
                                done = True
                                break
                            safe = len(text) - _held_back(text, stops)
                        else:
                            safe = len(text)
                        if safe > emitted and (now - last_send >= _SEND_INTERVAL_S or emitted == 0):
                            send(TextDelta(text[emitted:safe], request_id=request_id, slot=slot))
                            emitted = safe
                            last_send = now
                    if cancel.value or completion >= budget:
                        if cancel.value:
                            finish = "cancelled"
                        done = True
                        break
                if done:
                    break
                token = pending[-1]
                draft: list[int] = []
                if lookup is not None:
                    lookup.extend(pending)
                    room = min(budget - completion, decoder.n_batch) - 1
                    draft = lookup.draft(room)
                if draft and lookup is not None:
                    decoder.record(stepped)
                    stepped = []
                    decoder.check_drafts([token, *draft])
                    drafted += len(draft)
                    pending = [sample(0)]
                    for i, guess in enumerate(draft):
                        if pending[-1] != guess:
                            break
                        pending.append(sample(i + 1))
                    taken = len(pending) - 1  # drafts the model agreed with
                    accepted += taken
                    lookup.feedback(len(draft), taken)
                    decoder.keep(decoder.n_past - len(draft) + taken)
                else:
                    if step(token) != 0:
                        raise llama_api.DecodeFailed("llama_decode failed on one token")
                    stepped.append(token)
                    pending = [sample()]
        finally:
            decoder.record(stepped)
            sampler.close()
        if sampled == 0:
            first_at = last_at = time.perf_counter()
        text += utf8.decode(b"", final=True)
        if len(text) > emitted:
            send(TextDelta(text[emitted:], request_id=request_id, slot=slot))
        rapl_after = _rapl_uj()
        rapl_j = (
            (rapl_after - rapl_before) / 1e6
            if rapl_before is not None and rapl_after is not None and rapl_after >= rapl_before
            else None
        )
        prompt_eval_s = max(first_at - requested_at, 1e-9)
        decode_s = last_at - first_at
        self._send(
            GenerationFinished(
                finish_reason=finish,
                prompt_tokens=len(tokens),
                cached_tokens=cached,
                completion_tokens=completion,
                sampled_tokens=sampled,
                prompt_eval_s=prompt_eval_s,
                decode_s=decode_s,
                dropped_messages=dropped,
                rss_bytes=_rss_bytes(),
                cpu_s=time.process_time() - cpu_before,
                rapl_joules=rapl_j,
                draft_tokens=drafted,
                draft_accepted=accepted,
                request_id=request_id,
                slot=slot,
            )
        )
        if finish == "stop" and dropped == 0 and req.prompt is None:
            try:
                self._prewarm(messages, text)
            except Exception:  # only an optimisation: start the next turn afresh
                logger.warning("evaluating the next turn ahead failed", exc_info=True)
                self._decoder.keep(0)

    def _prewarm(self, messages: list[dict[str, str]], answer: str) -> None:
        """Evaluate the start of the next turn while the person reads this answer.

        The text between this answer and the next question (the answer as the template
        renders it, its end-of-turn marker, the next turn's header) is the same whatever
        the person asks next, so it is evaluated now rather than before the next first
        token. Yields as soon as a request is waiting; the KV cache stays consistent,
        and the next answer's prefix match uses whatever was evaluated.
        """
        llama = self._llama
        base = [*messages, {"role": "assistant", "content": answer}]
        try:
            one = self._builder.build([*base, {"role": "user", "content": "\x01"}])
            two = self._builder.build([*base, {"role": "user", "content": "\x02"}])
        except Exception:  # noqa: BLE001 - the next turn reports a failing template
            return
        add_bos = not one.added_special
        first = llama.tokenize(one.text.encode("utf-8"), add_bos=add_bos, special=True)
        second = llama.tokenize(two.text.encode("utf-8"), add_bos=add_bos, special=True)
        # The tokens both renders share: whatever the question, its tokens follow these.
        tokens = first[: _common_prefix(first, second)]
        if len(tokens) + 64 >= llama.n_ctx():
            return
        decoder = self._decoder
        cached = _common_prefix(decoder.evaluated(), tokens)
        if cached == 0 or cached >= len(tokens):
            return
        decoder.keep(cached)
        if decoder.n_past != cached:
            return  # this model's cache cannot be cut: the next turn starts afresh
        started = time.perf_counter()
        for start in range(cached, len(tokens), _PREWARM_CHUNK):
            if self._pending():
                break
            decoder.prompt(tokens[start : start + _PREWARM_CHUNK])
        logger.debug(
            "pre-evaluated %d tokens of the next turn in %.0f ms",
            decoder.n_past - cached,
            (time.perf_counter() - started) * 1000,
        )


_RAPL = "/sys/class/powercap/intel-rapl:0/energy_uj"


def _rapl_uj() -> int | None:
    """The CPU package's energy counter, where the machine lets us read it."""
    try:
        with open(_RAPL) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _describe(llama: Any) -> str:
    from app.backends.local import llama_adapter as llama_api

    try:
        return llama_api.describe(llama)
    except Exception:  # noqa: BLE001 - a description is best effort
        return ""


def default_threads() -> int:
    """llama.cpp runs best on physical cores."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # noqa: BLE001 - no psutil or no answer: count logical cores
        physical = None
    return max(1, physical or os.cpu_count() or 1)


HEARTBEAT_S = 0.2


def _heartbeat(beat: Any) -> None:
    """Count up while this process runs, whatever its main thread is busy with (llama.cpp
    releases the GIL): the supervisor takes a counter that stops for a hung process."""
    while True:
        beat.value += 1
        time.sleep(HEARTBEAT_S)


def engine_main(
    conn: Connection, cancel: Any, log_file: str | None = None, beat: Any = None
) -> None:
    """Entry point of the engine process."""
    if beat is not None:
        threading.Thread(target=_heartbeat, args=(beat,), name="heartbeat", daemon=True).start()
    from app.core.redact import RedactingFilter

    log_handler: logging.Handler = logging.StreamHandler()
    if log_file:
        with contextlib.suppress(OSError):  # unwritable: log to stderr instead
            log_handler = logging.FileHandler(log_file, encoding="utf-8")
    log_handler.addFilter(RedactingFilter())
    log_handler.setFormatter(
        logging.Formatter("%(asctime)s engine %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[log_handler])

    def send(reply: Reply) -> None:
        conn.send(reply)

    from app.backends import netguard

    netguard.install(private=True)  # the engine never needs the network
    engine = Engine(send, cancel, pending=lambda: conn.poll(0))
    while True:
        try:
            request: Request = conn.recv()
        except (EOFError, OSError):
            break
        if isinstance(request, Shutdown):
            break
        try:
            match request:
                case Load():
                    engine.load(request)
                case Generate():
                    engine.generate(request)
                case CountTokens():
                    engine.count_tokens(request)
                case Unload():
                    engine.unload()
                case Health():
                    engine.health(request)
                case NetworkSelfTest():
                    send(SelfTestReport(netguard.self_test(), request.request_id))
                case _:
                    raise _Refused(FailureKind.ENGINE, f"unknown request {request!r}")
        except _Refused as exc:
            send(EngineFailure(exc.kind, exc.message, getattr(request, "request_id", 0)))
        except Exception as exc:  # report, keep serving
            logger.exception("engine request %s failed", type(request).__name__)
            failure = f"{type(exc).__name__}: {exc}"
            send(EngineFailure(FailureKind.ENGINE, failure, getattr(request, "request_id", 0)))
    engine.unload()
