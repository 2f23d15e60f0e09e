"""Bad options and bad text are refused in one line (exit 2); nothing runs away."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from app.core.messages import GENERATION_RANGES
from tests.cli.test_cli import cli


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [("--threads", "-5", "from 1 to 512"), ("--threads", "999", "from 1 to 512"),
     ("--max-tokens", "-1", "from 1 to"), ("--max-tokens", "0", "from 1 to"),
     ("--temperature", "nan", "from 0 to 5"), ("--temperature", "inf", "from 0 to 5"),
     ("--temperature", "-1", "from 0 to 5"), ("--top-p", "nan", "from 0 to 1"),
     ("--top-p", "1.5", "from 0 to 1"), ("--ctx", "1000000000", "from 128 to"),
     ("--seed", "-3", "from 0 to"), ("--gpu-layers", "-2", "from -1 to"),
     ("--max-tokens", "ten", "not a whole number")],
)  # fmt: skip
def test_an_option_out_of_range_exits_2_saying_the_range(option, value, allowed):
    for command in (["chat"], ["compare", "--a", "x", "--b", "y"]):
        result = cli(*command, f"{option}={value}", "Hi")
        assert result.returncode == 2
        (line,) = result.stderr.splitlines()
        assert option in line
        assert allowed in line


def test_every_generation_range_is_offered_as_an_option_check():
    names = {"temperature", "top_p", "max_tokens", "context_length", "threads", "gpu_layers",
             "seed"}  # fmt: skip
    assert names == set(GENERATION_RANGES)


def test_history_search_limit_is_checked_too():
    result = cli("history", "search", "x", "--limit", "-4")
    assert result.returncode == 2
    assert "from 1 to 10,000" in result.stderr


def _raw(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin,
                          capture_output=True, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "stdin"),
    [((b"chat", b"hello \xff\xfe there"), None), ((b"chat", b"--no-save", b"\xc3\x28"), None),
     ((b"chat", b"--system", b"be \xff", b"Hi"), None), ((b"chat", b"-"), b"caf\xe9 au lait"),
     ((b"chat", b"--no-save", b"-"), b"\x80abc"), ((b"history", b"search", b"\xff"), None),
     ((b"compare", b"--a", b"x", b"--b", b"y", b"\xff"), None)],
)  # fmt: skip
def test_a_prompt_that_is_not_utf8_is_refused_in_one_line(args, stdin):
    result = _raw(*args, stdin=stdin)
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert "not valid UTF-8" in line
    assert b"Traceback" not in result.stderr


def test_an_endless_cloud_answer_is_cut_at_max_tokens_and_says_so(fault_server):
    added = cli("providers", "add", "fake", "--preset", "openai", "--base-url", fault_server.url,
                "--model", "endless", "--key-stdin", stdin="not-a-key-endless\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    result = cli("chat", "--provider", "fake", "--no-private", "--max-tokens", "10", "Hi")
    assert result.returncode == 0, result.stderr
    assert "cut at token limit" in result.stderr
    assert len(result.stdout) <= 12 * len(" word") + 1


def test_the_exit_code_table_is_distinct_and_printed_by_help():
    from app.core.errors import EXIT_CODES, ExitCode, TandemError

    codes = [int(code) for code in EXIT_CODES]
    assert len(codes) == len(set(codes))
    assert set(EXIT_CODES) == set(ExitCode)
    shown = cli("--help")
    assert shown.returncode == 0
    table = shown.stdout[shown.stdout.index("exit codes:") :]
    for code, meaning in EXIT_CODES.items():
        assert f"{int(code):>3}  {meaning}" in table

    def every(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from every(sub)

    for module in ("app.library.hub", "app.store.history.records", "app.store.secrets",
                   "app.store.settings"):  # fmt: skip
        importlib.import_module(module)  # where the other errors are defined
    for error in every(TandemError):
        assert isinstance(error.exit_code, ExitCode), error
