"""Every reach into llama-cpp-python beyond its public `Llama` API, in one file.

The engine needs a few things the public API does not give: a load-progress callback
(set by swapping `llama_model_default_params` for the duration of one load), the
tokens already evaluated in the KV cache (`_input_ids`, `n_tokens`), trimming that cache
(`_ctx.kv_cache_seq_rm`), the vocabulary and a token's text (`_model`), and the C
functions of the hot loop. When llama-cpp-python is upgraded, this file is what to check.
Runs only in the engine process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import llama_cpp
import llama_cpp.llama_cpp as lc


def supports_gpu_offload() -> bool:
    return bool(lc.llama_supports_gpu_offload())


def load(
    path: str,
    *,
    context_length: int,
    threads: int,
    gpu_layers: int,
    on_progress: Callable[[float], None],
) -> Any:
    """A `Llama` for `path`, reporting load progress (0..1) to `on_progress`."""

    def progress(fraction: float, _user: Any) -> bool:
        on_progress(float(fraction))
        return True

    callback = lc.llama_progress_callback(progress)
    original = lc.llama_model_default_params

    def params_with_progress() -> Any:
        params = original()
        params.progress_callback = callback
        return params

    # Llama() reads the default params while it loads: the swap lasts for this load only.
    lc.llama_model_default_params = params_with_progress
    try:
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=context_length,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=gpu_layers,
            verbose=False,
        )
    finally:
        lc.llama_model_default_params = original


def token_text(llama: Any, token: int) -> str:
    """A special token's text (BOS, EOS), or "" for none (-1)."""
    return "" if token == -1 else str(llama._model.token_get_text(token))


def vocab(llama: Any) -> Any:
    return llama._model.vocab


def describe(llama: Any) -> str:
    return str(llama._model.desc())


def evaluated_tokens(llama: Any) -> Sequence[int]:
    """The tokens whose keys and values are in the KV cache now."""
    return llama._input_ids  # type: ignore[no-any-return]


def evaluated_count(llama: Any) -> int:
    return int(llama.n_tokens)


def keep_evaluated(llama: Any, count: int) -> bool:
    """Drop the KV cache after its first `count` tokens; False when llama.cpp cannot."""
    if not llama._ctx.kv_cache_seq_rm(-1, count, -1):
        return False
    llama.n_tokens = count
    return True


def end_of_generation_check() -> Callable[[Any, int], bool]:
    """llama.cpp's own test for an end-of-generation token, called as `f(vocab, token)`."""
    return lc.llama_vocab_is_eog  # type: ignore[no-any-return]


def token_piece(vocab: Any, token: int, buffer: Any) -> bytes:
    """The bytes of one token, written through `buffer` (a ctypes string buffer)."""
    n = lc.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, False)
    return bytes(buffer.raw[: max(n, 0)])
