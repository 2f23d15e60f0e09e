"""Spending and savings over time: figures against sums straight from the stored rows,
the CSV round trip, and the monthly budget before a real cloud send."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import date, datetime

import pytest

from app.core.errors import OverBudget, UsageError
from app.core.events import CancelToken, Failed, Finished
from app.services.usage import By, parse_since, read_csv, usage, write_csv
from app.services.workspace import Workspace
from app.store.history.arena import ArenaRounds, Side
from app.store.history.store import HistoryStore


def _stats(model, backend, **figures):
    base = {"model": model, "backend": backend, "host": None,
            "privacy": "on this device" if backend == "local" else "sent to api.openai.com",
            "finish_reason": "stop", "time_to_first_token_s": 0.3, "tokens_per_s": 30.0,
            "prompt_tokens_per_s": 100.0, "prompt_tokens": 10, "completion_tokens": 20}  # fmt: skip
    return {**base, **figures}


ANSWERS = [
    ("2026-10-30 10:00", _stats("oai:gpt-4o-mini", "cloud", cost_usd=0.0125, prompt_tokens=40)),
    ("2026-11-02 09:00", _stats("tiny", "local", cost_usd=0.0, cloud_equivalent_usd=0.003,
                                energy_wh=0.25)),
    ("2026-11-02 23:30", _stats("tiny", "local", cost_usd=0.0, cloud_equivalent_usd=0.004,
                                energy_wh=0.5, completion_tokens=64)),
    ("2026-11-20 12:00", _stats("oai:mystery", "cloud", cost_usd=None)),
    ("2026-12-01 08:00", _stats("groq:llama", "cloud", cost_usd=0.5)),
]  # fmt: skip


def _at(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M").astimezone().timestamp()


@pytest.fixture
def history_db(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore(path) as history:
        conversation = history.create_conversation("usage")
        for when, stats in ANSWERS:
            history.add_message(conversation, "user", "q")
            answer = history.add_message(conversation, "assistant", "", status="streaming")
            history.finish_message(answer, "a", "complete", stats, None)
            conn = sqlite3.connect(path)
            conn.execute("UPDATE messages SET created_at = ? WHERE id = ?", (_at(when), answer))
            conn.commit()
            conn.close()
    rounds = ArenaRounds(path)
    rounds.add("p", {"left": "x", "right": "y"}, {"left": False, "right": False}, [
        Side("left", "tiny", "local", None, _stats("tiny", "local", cost_usd=0.0,
             cloud_equivalent_usd=0.002, energy_wh=0.1)),
        Side("right", "oai:gpt-4o-mini", "cloud", "api.openai.com",
             _stats("oai:gpt-4o-mini", "cloud", cost_usd=0.02)),
    ])  # fmt: skip
    conn = sqlite3.connect(path)
    conn.execute("UPDATE arena_rounds SET created_at = ?", (_at("2026-11-15 10:00"),))
    conn.commit()
    conn.close()
    rounds.close()
    return path


def _sql_sums(path, since=None):
    """The same figures summed by SQLite itself from the stored rows."""
    start = -1.0 if since is None else datetime(since.year, since.month, since.day).timestamp()
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT stats FROM messages WHERE role='assistant' AND stats IS NOT NULL "
        "AND created_at >= ? UNION ALL SELECT s.stats FROM arena_sides s JOIN arena_rounds r "
        "ON r.id = s.round_id WHERE r.created_at >= ?", (start, start)).fetchall()  # fmt: skip
    conn.execute("CREATE TEMP TABLE t (stats TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", rows)
    field = "json_extract(stats, '$.{}')".format
    cloud, local = f"{field('backend')} = 'cloud'", f"{field('backend')} = 'local'"
    sums = conn.execute(
        f"SELECT COUNT(*), TOTAL(CASE WHEN {cloud} THEN {field('cost_usd')} END), "
        f"TOTAL(CASE WHEN {local} THEN {field('cloud_equivalent_usd')} END), "
        f"TOTAL({field('energy_wh')}), TOTAL({field('prompt_tokens')}), "
        f"TOTAL({field('completion_tokens')}), SUM({local}), "
        f"SUM({cloud} AND {field('cost_usd')} IS NULL) FROM t"
    ).fetchone()
    conn.close()
    return sums


@pytest.mark.parametrize("since", [None, date(2026, 11, 1), date(2026, 12, 1)])
def test_the_totals_equal_the_sums_of_the_stored_rows(history_db, since):
    found = usage(history_db, By.MONTH, since).total
    answers, spent, saved, energy, prompt, completion, local, unpriced = _sql_sums(
        history_db, since
    )
    assert found.answers == answers
    assert found.spent_usd == pytest.approx(spent)
    assert found.saved_usd == pytest.approx(saved)
    assert found.energy_wh == pytest.approx(energy)
    assert (found.prompt_tokens, found.completion_tokens) == (prompt, completion)
    assert found.on_device == local
    assert found.unpriced == unpriced


def test_grouping_by_day_month_model_and_provider(history_db):
    days = {b.key: b for b in usage(history_db, By.DAY).buckets}
    assert days["2026-11-02"].answers == 2
    assert days["2026-11-02"].saved_usd == pytest.approx(0.007)
    months = {b.key: b for b in usage(history_db, By.MONTH).buckets}
    assert list(months) == ["2026-10", "2026-11", "2026-12"]
    assert months["2026-11"].answers == 5
    assert months["2026-11"].spent_usd == pytest.approx(0.02)
    assert months["2026-11"].share_on_device == pytest.approx(3 / 5)
    models = {b.key: b for b in usage(history_db, By.MODEL).buckets}
    assert models["tiny"].answers == 3
    providers = {b.key: b for b in usage(history_db, By.PROVIDER).buckets}
    assert set(providers) == {"local", "oai", "groq"}
    assert providers["oai"].spent_usd == pytest.approx(0.0325)
    assert providers["oai"].unpriced == 1
    weeks = usage(history_db, By.WEEK).buckets
    assert sum(b.answers for b in weeks) == 7
    assert all(b.key[4:6] == "-W" for b in weeks)


def test_csv_export_reads_back_the_same_figures(history_db, tmp_path):
    report = usage(history_db, By.DAY)
    path = tmp_path / "usage.csv"
    write_csv(report, path)
    back = read_csv(path)
    assert back[:-1] == list(report.buckets)
    assert back[-1] == report.total
    with pytest.raises(UsageError, match="Could not write"):
        write_csv(report, tmp_path / "missing-folder" / "u.csv")


def test_a_since_date_is_checked_and_empty_history_says_so(tmp_path):
    assert parse_since("2026-11") == date(2026, 11, 1)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_since("<script>")
    assert usage(tmp_path / "empty.db").summary() == "No answers with their facts stored yet."


def _priced_cloud(workspace, url):
    (workspace.paths.config_dir / "prices.toml").write_text(
        "[fake.ok]\ninput = 1000.0\noutput = 1000.0\n", encoding="utf-8"
    )
    workspace.add_provider("fake", "custom", url, "ok", key="sk-not-a-real-key-0123456789")
    workspace.prices = __import__("app.store.prices", fromlist=["load_prices"]).load_prices(
        workspace.paths.config_dir / "prices.toml"
    )


def test_a_send_over_the_monthly_budget_is_stopped_until_the_person_says_yes(fault_server):
    workspace = Workspace()
    _priced_cloud(workspace, fault_server.url)
    workspace.save(dataclasses.replace(workspace.settings, monthly_budget_usd=0.5))
    service = workspace.chat_service(workspace.backend_for("fake:ok"))
    check = service.over_budget("Hello")
    assert check is not None
    assert check.budget_usd == 0.5
    assert check.estimate_usd > 0.5  # 512 tokens of answer at $1000 per million
    assert "$0.50 budget" in check.message()
    (event,) = list(service.send("Hello", CancelToken()))
    assert isinstance(event, Failed)
    assert isinstance(event.error, OverBudget)
    assert fault_server.bodies == []  # nothing was sent
    assert workspace.history().list_conversations() == []  # nor saved
    events = list(service.send("Hello", CancelToken(), over_budget=True))
    assert isinstance(events[-1], Finished)
    assert len(fault_server.bodies) == 1
    workspace.shutdown()


def test_without_a_budget_or_under_it_nothing_is_asked(fault_server):
    workspace = Workspace()
    _priced_cloud(workspace, fault_server.url)
    service = workspace.chat_service(workspace.backend_for("fake:ok"))
    assert service.over_budget("Hello") is None
    workspace.save(dataclasses.replace(workspace.settings, monthly_budget_usd=1000.0))
    assert workspace.chat_service(workspace.backend_for("fake:ok")).over_budget("Hi") is None
    workspace.shutdown()
