"""Figures that cannot be true: a bad price table, a server's absurd usage, NaN in a file."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import cli


def _strict(text):
    """JSON as the standard defines it: NaN and Infinity are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def provider(fault_server):
    added = cli("providers", "add", "fake", "--preset", "openai", "--base-url", fault_server.url,
                "--model", "ok", "--key-stdin", stdin="not-a-key-figures\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    return fault_server


def _prices(tandem_home, text):
    path = tandem_home / "config" / "prices.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("entry", "why"),
    [("input = -22\noutput = 1", "negative"), ("input = nan\noutput = 1", "nan"),
     ("input = 1\noutput = inf", "inf"), ("input = 1e200\noutput = 1", "above"),
     ('input = "1.5"\noutput = 1', "not a number"), ("input = true\noutput = 1", "not a number"),
     ("output = 1", "no input price")],
)  # fmt: skip
def test_a_price_that_cannot_be_true_is_ignored_with_a_warning_naming_it(
    provider, tandem_home, entry, why
):
    _prices(tandem_home, f"[openai.ok]\n{entry}\n")
    result = cli("chat", "--provider", "fake", "--no-private", "--json", "Hi")
    assert result.returncode == 0, result.stderr
    assert "openai.ok" in result.stderr
    assert why in result.stderr
    data = _strict(result.stdout)
    assert data["cost_usd"] is None  # price unknown, not $-22 or $nan


def test_a_sane_user_price_is_used(provider, tandem_home):
    _prices(tandem_home, "[openai.ok]\ninput = 1.0\noutput = 2.0\n")
    result = cli("chat", "--provider", "fake", "--no-private", "--json", "Hi")
    assert "warning" not in result.stderr
    data = _strict(result.stdout)
    assert data["cost_usd"] == pytest.approx((21 * 1.0 + 10 * 2.0) / 1e6)


@pytest.mark.parametrize("usage", ["NaN", "Infinity", '{"completion_tokens": -1}',
                                   '{"prompt_tokens": 1e300, "completion_tokens": 5}'])  # fmt: skip
def test_absurd_usage_gives_strict_json_marked_estimated(provider, tandem_home, usage):
    _prices(tandem_home, "[openai]\n")
    model = f'usage={{"prompt_tokens": 2, "completion_tokens": {usage}}}'
    if usage.startswith("{"):
        model = f"usage={usage}"
    result = cli("chat", "--provider", "fake", "--model", model, "--no-private", "--json", "Hi")
    assert result.returncode == 0, result.stderr
    data = _strict(result.stdout)
    assert data["estimated"] is True
    assert 0 < data["completion_tokens"] < 100
    exported = cli("history", "export", str(data["conversation_id"]), "--format", "json")
    _strict(exported.stdout)


def test_an_imported_conversation_with_nan_figures_exports_as_strict_json(tmp_path):
    stats = ('{"model": "m", "backend": "cloud", "host": "h", "privacy": "sent to h", '
             '"finish_reason": "stop", "time_to_first_token_s": NaN, "tokens_per_s": Infinity, '
             '"prompt_tokens_per_s": -Infinity, "prompt_tokens": 5, "completion_tokens": 7, '
             '"cost_usd": NaN}')  # fmt: skip
    file = tmp_path / "nan.json"
    file.write_text(
        '{"format": "tandem.conversation", "format_version": 1, "title": "t", "messages": ['
        '{"role": "user", "content": "q"}, '
        f'{{"role": "assistant", "content": "a", "stats": {stats}}}]}}'
    )
    imported = cli("history", "import", str(file), "--json")
    assert imported.returncode == 0, imported.stderr
    new_id = str(_strict(imported.stdout)["conversation_id"])
    for args in (("export", new_id, "--format", "json"), ("show", new_id, "--json")):
        result = cli("history", *args)
        assert result.returncode == 0, result.stderr
        _strict(result.stdout)
    shown = cli("history", "show", new_id)
    assert "nan" not in shown.stdout.lower()
    assert "inf" not in shown.stdout.lower()
