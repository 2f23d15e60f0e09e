from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.core.pricing import Price, cost_label, format_usd
from app.core.privacy import ON_THIS_DEVICE, is_loopback_host, privacy_label
from app.core.stats import AnswerStats, FinishReason
from app.store.paths import app_paths

APP = Path(__file__).resolve().parents[2] / "app"


def _stats(**changes: object) -> AnswerStats:
    values: dict[str, object] = {
        "model": "m",
        "backend": "local",
        "host": None,
        "privacy": ON_THIS_DEVICE,
        "finish_reason": FinishReason.STOP,
        "time_to_first_token_s": 0.25,
        "tokens_per_s": 120.5,
        "prompt_tokens_per_s": 800.0,
        "prompt_tokens": 40,
        "completion_tokens": 99,
    }
    values.update(changes)
    return AnswerStats(**values)  # type: ignore[arg-type]


def test_local_answer_summary_shows_speed_privacy_and_no_cost():
    line = _stats().summary_line()
    assert "0.25 s to first token" in line
    assert "120.5 tok/s" in line
    assert "40 → 99 tokens" in line
    assert "on this device" in line
    assert "no API cost" in line


def test_stopped_and_estimated_answers_say_so():
    line = _stats(finish_reason=FinishReason.CANCELLED, estimated=True).summary_line()
    assert line.endswith("estimated · stopped")
    assert "~120.5 tok/s" in line


def test_json_has_the_cli_fields():
    data = _stats().to_json()
    for key in (
        "finish_reason", "model", "backend", "host", "time_to_first_token_s", "tokens_per_s",
        "prompt_tokens_per_s", "prompt_tokens", "completion_tokens", "estimated", "privacy",
        "cost_usd", "cloud_equivalent_usd",
    ):  # fmt: skip
        assert key in data
    assert data["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, "on this device"),
        ("127.0.0.1", "on this device"),
        ("localhost", "on this device"),
        ("[::1]", "on this device"),
        ("api.openai.com", "sent to api.openai.com"),
        ("10.0.0.5", "sent to 10.0.0.5"),
    ],
)
def test_privacy_label(host, expected):
    assert privacy_label(host) == expected


def test_trusted_host_is_named_as_trusted():
    assert privacy_label("gpu.lan", trusted=True) == "sent to gpu.lan (trusted)"
    assert not is_loopback_host("127.example.com")


def test_costs_are_never_a_made_up_zero():
    assert cost_label("cloud", None) == "price unknown"
    assert cost_label("local", 0.0) == "no API cost"
    price = Price(input_usd_per_mtok=2.5, output_usd_per_mtok=10.0)
    assert price.cost_usd(1000, 500) == pytest.approx(0.0075)
    assert format_usd(0.0075) == "$0.0075"
    assert format_usd(12.5) == "$12.50"


def test_tandem_home_moves_every_folder(tandem_home):
    paths = app_paths()
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.log_dir):
        assert tandem_home in folder.parents
    assert paths.models_dir.parent == paths.data_dir


def _importers(top_names: set[str]) -> set[str]:
    found = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in top_names for n in names):
                found.add(path.relative_to(APP).as_posix())
    return found


def test_only_app_ui_imports_qt():
    offenders = {p for p in _importers({"PySide6", "shiboken6"}) if not p.startswith("ui/")}
    assert offenders == set()


def test_only_the_engine_process_imports_llama_cpp():
    assert _importers({"llama_cpp"}) <= {
        "backends/local/engine.py",
        "backends/local/llama_adapter.py",
        "backends/local/prompt.py",
    }


def _imports_of(package: str) -> set[str]:
    """The packages of ours that modules under app/<package> import."""
    found = set()
    for path in (APP / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("app.")}
    return found - {package}


def test_the_house_rules_on_who_imports_whom():
    assert _imports_of("core") == set()
    for package in ("backends", "store", "library"):
        assert _imports_of(package) <= {"core"}, package


def test_cancel_runs_callbacks_once_and_forgotten_ones_never():
    from app.core.events import CancelToken

    token = CancelToken()
    calls: list[str] = []
    token.on_cancel(lambda: calls.append("a"))
    forget = token.on_cancel(lambda: calls.append("b"))
    forget()
    token.cancel()
    token.cancel()
    assert calls == ["a"]
    token.on_cancel(lambda: calls.append("late"))  # already cancelled: runs at once
    assert calls == ["a", "late"]
    assert token.cancelled
