"""Before a load, the context asked for is checked against the memory free now, with the
same estimate the model manager shows: a context far beyond it is refused, saying the
figure and what fits, never blamed on the model file."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import ExitCode, NotEnoughMemory
from app.library.gguf_file import inspect_gguf
from app.library.hardware import GPUInfo, check_memory_for_load
from tests.library.test_hardware import GB, laptop


def test_a_context_far_beyond_memory_is_refused_with_the_figure_and_what_fits(
    default_model: Path,
) -> None:
    info = inspect_gguf(default_model)
    with pytest.raises(NotEnoughMemory) as caught:
        check_memory_for_load(info, 10_000_000, laptop(16, 8), limit_bytes=None)
    message = caught.value.message
    assert caught.value.exit_code == ExitCode.MEMORY
    assert "with a context of 10,000,000 tokens" in message
    assert "it needs about 230.6 GB" in message
    assert "8.0 GB is free" in message
    assert "up to about 2" in message  # about 290,000 tokens fit in 85 % of 8 GB
    assert "trained on 8,192" in message
    assert "damaged" not in message
    assert "\n" not in message


def test_a_context_that_fits_passes_and_says_what_was_expected(default_model: Path) -> None:
    info = inspect_gguf(default_model)
    expected = check_memory_for_load(info, 4096, laptop(16, 8), limit_bytes=None)
    assert "estimate for a context of 4,096 tokens was about 283 MB" in expected


def test_a_memory_limit_counts_as_all_that_is_free(default_model: Path) -> None:
    info = inspect_gguf(default_model)
    with pytest.raises(NotEnoughMemory, match=r"a memory limit allows 1\.0 GB"):
        check_memory_for_load(info, 100_000, laptop(64, 60), limit_bytes=GB)


def test_free_gpu_memory_counts_too(default_model: Path) -> None:
    info = inspect_gguf(default_model)
    gpu = GPUInfo("CUDA", "test GPU", 24 * GB, 20 * GB)
    check_memory_for_load(info, 400_000, laptop(16, 4, gpu, offload=True), limit_bytes=None)
    with pytest.raises(NotEnoughMemory):
        check_memory_for_load(info, 400_000, laptop(16, 4), limit_bytes=None)
