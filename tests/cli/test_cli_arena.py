"""`tandem-cli arena` and `tandem-cli usage` against the real default model and
llama-cpp-python's server on loopback as the cloud model; the budget's exit code."""

from __future__ import annotations

import csv
import json
import sqlite3

from tests.cli.test_cli import cli

LOCAL = "local:smollm2-135m-instruct-q4_1"
KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123\n"


def _add_loopback_cloud(url):
    added = cli("providers", "add", "loopcloud", "--preset", "custom", "--base-url", url,
                "--model", "smollm2", "--key-stdin", stdin=KEY)  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_arena_round_vote_board_export_and_delete(installed_default, llama_server):
    _add_loopback_cloud(llama_server)
    ran = cli("arena", "run", "--pool", f"{LOCAL},loopcloud:smollm2", "--max-tokens", "8",
              "--temperature", "0", "--json", "Name a fruit.")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert set(data) >= {"round", "left", "right", "privacy"}
    assert data["left"]["text"]
    assert data["right"]["text"]
    for name in ("smollm2", "loopcloud", "127.0.0.1", "sent to", "tok/s"):
        assert name not in ran.stdout, name
        assert name not in ran.stderr, name
    assert "keeps your prompt on this device" in ran.stderr

    board = json.loads(cli("arena", "board", "--json").stdout)
    assert board["models"] == []  # an unvoted round names no one
    voted = cli("arena", "vote", str(data["round"]), "right")
    assert voted.returncode == 0, voted.stderr
    assert "you preferred Right" in voted.stdout
    assert "smollm2-135m-instruct-q4_1 —" in voted.stdout
    assert "loopcloud:smollm2 —" in voted.stdout
    again = cli("arena", "vote", str(data["round"]), "left")
    assert again.returncode == 2
    assert "already" in again.stderr

    board = json.loads(cli("arena", "board", "--json").stdout)
    assert board["rounds"] == 1
    assert {m["model"] for m in board["models"]} == {"smollm2-135m-instruct-q4_1",
                                                      "loopcloud:smollm2"}  # fmt: skip
    assert board["models"][0]["wins"] == 1
    text_board = cli("arena", "board")
    assert text_board.stdout.startswith("Over 1 rounds, your local model tied or beat")

    exported = json.loads(cli("arena", "export").stdout)
    assert exported[0]["vote"] == "right"
    assert exported[0]["right"]["model"] in ("smollm2-135m-instruct-q4_1", "loopcloud:smollm2")
    assert cli("arena", "delete", str(data["round"])).returncode == 0
    assert json.loads(cli("arena", "list", "--json").stdout) == []
    huge = cli("arena", "vote", "99999999999999999999", "left")
    assert huge.returncode == 2
    assert "out of range" in huge.stderr
    assert cli("arena", "run", "--pool", ",,", "Hi").returncode == 2
    missing = cli("arena", "vote", str(data["round"]), "tie")
    assert missing.returncode == 6
    assert "not in the history" in missing.stderr


def test_private_mode_keeps_the_arena_pool_to_this_device():
    added = cli("providers", "add", "oai", "--preset", "openai", "--key-stdin", stdin=KEY)
    assert added.returncode == 0
    result = cli("arena", "run", "--pool", "oai:gpt-4o,oai:gpt-4o-mini", "Hi")
    assert result.returncode == 2
    assert "Private mode is on" in result.stderr
    assert json.loads(cli("privacy", "--json").stdout)["ledger"] == []


def test_chat_over_the_monthly_budget_exits_12_unless_over_budget(fault_server, tandem_home):
    (tandem_home / "config").mkdir(parents=True, exist_ok=True)
    (tandem_home / "config" / "prices.toml").write_text(
        "[fake.ok]\ninput = 1000.0\noutput = 1000.0\n"
    )
    added = cli("providers", "add", "fake", "--preset", "custom", "--base-url", fault_server.url,
                "--model", "ok", "--key-stdin", stdin=KEY)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert cli("usage", "--set-budget", "0.25").returncode == 0
    refused = cli("chat", "--provider", "fake", "--json", "Hello")
    assert refused.returncode == 12
    assert json.loads(refused.stdout)["error"]["kind"] == "over_budget"
    assert "$0.25 budget" in refused.stderr
    assert fault_server.bodies == []
    sent = cli("chat", "--provider", "fake", "--over-budget", "--json", "Hello")
    assert sent.returncode == 0, sent.stderr
    assert len(fault_server.bodies) == 1
    assert "12  the answer would take the month over its budget" in cli("--help").stdout


def test_usage_sums_what_the_history_stored_and_writes_csv(installed_default, tandem_home):
    for prompt in ("Hi", "Say one word."):
        chat = cli("chat", "--max-tokens", "6", "--json", prompt)
        assert chat.returncode == 0, chat.stderr
    result = cli("usage", "--by", "model", "--json", "--csv", str(tandem_home / "u.csv"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    conn = sqlite3.connect(tandem_home / "data" / "history.sqlite3")
    stored = [json.loads(r[0]) for r in conn.execute(
        "SELECT stats FROM messages WHERE role = 'assistant' AND stats IS NOT NULL")]  # fmt: skip
    conn.close()
    total = report["total"]
    assert total["answers"] == len(stored) == 2
    assert total["completion_tokens"] == sum(s["completion_tokens"] for s in stored)
    assert total["saved_usd"] == sum(s["cloud_equivalent_usd"] for s in stored)
    assert total["share_on_device"] == 1.0
    with (tandem_home / "u.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["model"] == "smollm2-135m-instruct-q4_1"
    assert int(rows[-1]["answers"]) == 2
    bad = cli("usage", "--since", "yesterday-ish")
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr
