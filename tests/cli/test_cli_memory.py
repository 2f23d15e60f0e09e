"""Out of memory at load, with the real default model: a `--ctx` far beyond memory is
refused before loading, and a load that runs out of memory all the same (a real
address-space limit) says it is memory, with the estimate, never a damaged file."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from app.core.errors import ExitCode
from tests.cli.test_cli import cli

pytestmark = pytest.mark.model


def test_a_context_far_beyond_memory_is_refused_before_loading(installed_default) -> None:
    result = cli("chat", "--no-save", "--ctx", "10000000", "--max-tokens", "4", "Hello")
    assert result.returncode == ExitCode.MEMORY, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("tandem: Not enough memory to load SmolLM2-135M-Instruct")
    assert "with a context of 10,000,000 tokens: it needs about 230.6 GB" in line
    assert "tokens fit" in line
    assert "damaged" not in line
    assert result.stdout == ""


def _with_address_space(limit_bytes: int, *args: str) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        preexec_fn=cap,  # the limit holds in the CLI and in the engine it starts
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ},
        check=False,
    )


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is what Linux enforces")
def test_a_load_that_runs_out_of_memory_says_so_with_the_estimate(installed_default) -> None:
    # The estimate for 110,000 tokens (about 2.7 GB) is under the 3 GB limit, so the check
    # lets the load start; llama.cpp's context then cannot be allocated beside the rest.
    result = _with_address_space(
        3_000_000_000, "chat", "--no-save", "--ctx", "110000", "--max-tokens", "4", "Hello"
    )
    assert result.returncode == ExitCode.MEMORY, result.stderr
    line = result.stderr.splitlines()[-1]
    assert "not enough memory to load SmolLM2-135M-Instruct.Q4_1.gguf" in line
    assert "with a context of 110,000 tokens; the model file is fine" in line
    assert "estimate for a context of 110,000 tokens was about 2.7 GB" in line
    assert "a memory limit allows 3.0 GB" in line
    assert "damaged" not in result.stderr
