"""Every reach into llama-cpp-python beyond its public `Llama` API, in one file.

The engine needs a few things the public API does not give: a load-progress callback
(set by swapping `llama_model_default_params` for the duration of one load), flash
attention "auto" (llama-cpp-python offers only on or off: the context's parameters are
set as `_internals.LlamaContext` is made, for that load only), the tokens already
evaluated in the KV cache (`input_ids`, `n_tokens`), trimming that cache
(`_ctx.kv_cache_seq_rm`), the vocabulary and a token's text (`_model`), and the C
functions of the hot loop (`Decoder`: `llama_decode` on batches of our own, a
`llama_sampler` chain, `llama_token_to_piece`). When llama-cpp-python is upgraded, this
file is what to check. Runs only in the engine process.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp
import llama_cpp.llama_cpp as lc


def supports_gpu_offload() -> bool:
    return bool(lc.llama_supports_gpu_offload())


KV_TYPES = {"f16": lc.GGML_TYPE_F16, "q8_0": lc.GGML_TYPE_Q8_0, "q4_0": lc.GGML_TYPE_Q4_0}
FLASH_ATTENTION = {
    "auto": lc.LLAMA_FLASH_ATTN_TYPE_AUTO,
    "on": lc.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    "off": lc.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}


def load(
    path: str,
    *,
    context_length: int,
    threads: int,
    gpu_layers: int,
    on_progress: Callable[[float], None],
    kv_cache_type: str = "f16",
    flash_attention: str = "auto",
) -> Any:
    """A `Llama` for `path`, reporting load progress (0..1) to `on_progress`.

    `kv_cache_type` (a KV_TYPES key) is used for both keys and values;
    `flash_attention` is a FLASH_ATTENTION key."""

    def progress(fraction: float, _user: Any) -> bool:
        on_progress(float(fraction))
        return True

    callback = lc.llama_progress_callback(progress)
    original = lc.llama_model_default_params

    def params_with_progress() -> Any:
        params = original()
        params.progress_callback = callback
        return params

    from llama_cpp import _internals

    context_class = _internals.LlamaContext
    flash = FLASH_ATTENTION[flash_attention]

    def context_with_flash_attention(*, model: Any, params: Any, verbose: bool) -> Any:
        params.flash_attn_type = flash
        return context_class(model=model, params=params, verbose=verbose)

    kv_type = KV_TYPES[kv_cache_type]
    # Llama() reads the default params and makes its context while it loads: the swaps
    # last for this load only.
    lc.llama_model_default_params = params_with_progress
    _internals.LlamaContext = context_with_flash_attention  # type: ignore[misc,assignment]
    try:
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=context_length,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=gpu_layers,
            type_k=kv_type,
            type_v=kv_type,
            verbose=False,
        )
    finally:
        lc.llama_model_default_params = original
        _internals.LlamaContext = context_class  # type: ignore[misc]


def token_text(llama: Any, token: int) -> str:
    """A special token's text (BOS, EOS), or "" for none (-1)."""
    return "" if token == -1 else str(llama._model.token_get_text(token))


def load_embedder(path: str, context_length: int, threads: int | None) -> Any:
    """An embedding model (`embedding=True`) for the embedding process."""
    return llama_cpp.Llama(
        model_path=path,
        embedding=True,
        n_ctx=context_length,
        n_batch=context_length,
        n_ubatch=context_length,  # a non-causal model takes a whole passage in one micro-batch
        n_threads=threads,
        verbose=False,
    )


def describe(llama: Any) -> str:
    return str(llama._model.desc())


def end_of_generation_check() -> Callable[[Any, int], bool]:
    """llama.cpp's own test for an end-of-generation token, called as `f(vocab, token)`."""
    return lc.llama_vocab_is_eog  # type: ignore[no-any-return]


def token_piece(vocab: Any, token: int, buffer: Any) -> bytes:
    """The bytes of one token, written through `buffer` (a ctypes string buffer)."""
    n = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
    if n < 0:  # the piece is longer than the buffer: -n bytes
        bigger = ctypes.create_string_buffer(-n)
        n = lc.llama_token_to_piece(vocab, token, bigger, len(bigger), 0, False)
        return bytes(bigger.raw[: max(n, 0)])
    return bytes(buffer.raw[: max(n, 0)])


class DecodeFailed(RuntimeError):
    """llama_decode refused a batch (1: no room left in the KV cache; < 0: an error)."""


class Decoder:
    """The hot loop's hold on one loaded `Llama`: llama.cpp's C context, a one-token
    batch made once (so a step is one `llama_decode` call and one `llama_sampler_sample`),
    a batch of `n_batch` tokens for prompts and drafts, and the bookkeeping that `Llama`
    keeps (`input_ids`, `n_tokens`), so that its own `eval`, `tokenize` and prefix
    checks stay right between our answers.
    """

    def __init__(self, llama: Any) -> None:
        self._llama = llama
        self.ctx = llama._ctx.ctx
        self._memory = llama._ctx.memory
        self.vocab = llama._model.vocab
        self.n_ctx = int(llama.n_ctx())
        self.n_batch = int(llama.n_batch)
        self._n_vocab = int(llama.n_vocab())
        self._ids = llama.input_ids  # NumPy, n_ctx long: what the KV cache holds
        self._one = (lc.llama_token * 1)()
        self._one_batch = lc.llama_batch_get_one(self._one, 1)
        self._batch = lc.llama_batch_init(self.n_batch, 0, 1)
        self._batch_live = True

    def close(self) -> None:
        if self._batch_live:
            lc.llama_batch_free(self._batch)
            self._batch_live = False

    # ----- the KV cache

    @property
    def n_past(self) -> int:
        return int(self._llama.n_tokens)

    def evaluated(self) -> Sequence[int]:
        return self._llama._input_ids  # type: ignore[no-any-return]

    def keep(self, count: int) -> None:
        """Keep the first `count` evaluated tokens; the whole cache goes where llama.cpp
        cannot cut it (recurrent models)."""
        if not lc.llama_memory_seq_rm(self._memory, 0, count, -1):
            lc.llama_memory_clear(self._memory, True)
            count = 0
        self._llama.n_tokens = count

    # ----- decoding

    def _decode_batch(self, tokens: Sequence[int], all_logits: bool) -> None:
        """Evaluate `tokens` after what is cached, in one batch of at most n_batch;
        logits for every token (drafts to check) or for the last one only."""
        n_past = self.n_past
        batch = self._batch
        count = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = n_past + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = all_logits
        batch.logits[count - 1] = True
        batch.n_tokens = count
        rc = lc.llama_decode(self.ctx, batch)
        if rc != 0:
            self.keep(n_past)
            raise DecodeFailed(f"llama_decode returned {rc}")
        self._ids[n_past : n_past + count] = tokens
        self._llama.n_tokens = n_past + count

    def prompt(self, tokens: Sequence[int]) -> None:
        """Evaluate `tokens` after the cache, n_batch at a time; logits of the last."""
        for start in range(0, len(tokens), self.n_batch):
            self._decode_batch(tokens[start : start + self.n_batch], all_logits=False)

    def check_drafts(self, tokens: Sequence[int]) -> None:
        """Evaluate the last token and the drafts after it, with logits for each."""
        self._decode_batch(tokens, all_logits=True)

    def stepper(self) -> Callable[[int], int]:
        """`step(token)`: evaluate one token after the cache, as cheaply as ctypes allows
        (the batch struct is made once; positions follow the cache). Returns llama_decode's
        code: 0 is success. The caller records the tokens with `record` afterwards."""
        decode, ctx, one, batch = lc.llama_decode, self.ctx, self._one, self._one_batch

        def step(token: int) -> int:
            one[0] = token
            return int(decode(ctx, batch))

        return step

    def record(self, tokens: Sequence[int]) -> None:
        """Note tokens that `stepper` evaluated, in order, after the cached ones."""
        if tokens:
            n_past = self.n_past
            self._ids[n_past : n_past + len(tokens)] = tokens
            self._llama.n_tokens = n_past + len(tokens)

    # ----- sampling

    def sampler(
        self,
        *,
        temperature: float,
        top_k: int,
        top_p: float,
        min_p: float,
        repeat_penalty: float,
        seed: int | None,
    ) -> Sampler:
        """A llama.cpp sampler chain, in the order `Llama.generate` builds it: penalties,
        then greedy at temperature 0, else top-k, top-p, min-p, temperature, and a draw."""
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        add = lc.llama_sampler_chain_add
        if repeat_penalty != 1.0:
            add(chain, lc.llama_sampler_init_penalties(self._n_vocab, 64, repeat_penalty, 0.0, 0.0))
        if temperature <= 0.0:
            add(chain, lc.llama_sampler_init_greedy())
        else:
            add(chain, lc.llama_sampler_init_top_k(top_k))
            add(chain, lc.llama_sampler_init_top_p(top_p, 1))
            add(chain, lc.llama_sampler_init_min_p(min_p, 1))
            add(chain, lc.llama_sampler_init_temp(temperature))
            add(chain, lc.llama_sampler_init_dist(lc.LLAMA_DEFAULT_SEED if seed is None else seed))
        return Sampler(chain, self.ctx)


class Sampler:
    """One request's sampler chain; `sample(i)` picks (and accepts) the token after the
    i-th logits row of the last batch (-1: its last)."""

    def __init__(self, chain: Any, ctx: Any) -> None:
        self._chain = chain
        sample, self._ctx = lc.llama_sampler_sample, ctx

        def draw(index: int = -1) -> int:
            return int(sample(chain, ctx, index))

        self.sample = draw

    def close(self) -> None:
        if self._chain is not None:
            lc.llama_sampler_free(self._chain)
            self._chain = None
