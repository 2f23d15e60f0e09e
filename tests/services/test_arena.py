"""The blind arena against real backends: the default model through llama.cpp and
llama-cpp-python's own server on loopback as the cloud model."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from app.core.errors import OverBudget, SensitiveContent, UsageError
from app.core.events import CancelToken
from app.services.arena import Arena, open_arena, privacy_notice
from app.services.workspace import Workspace
from app.store.history.arena import ArenaRounds

LOCAL = "local:smollm2-135m-instruct-q4_1"
CLOUD = "loopcloud:smollm2"


def workspace_with_cloud(url: str) -> Workspace:
    workspace = Workspace()
    workspace.add_provider("loopcloud", "custom", url, "smollm2", key="sk-loopback-not-a-secret")
    workspace.settings = dataclasses.replace(
        workspace.settings,
        generation=workspace.settings.generation.with_(max_tokens=12, seed=1, temperature=0.0),
    )
    return workspace


@pytest.fixture
def arena_workspace(installed_default, llama_server):
    workspace = workspace_with_cloud(llama_server)
    yield workspace
    workspace.shutdown()


def test_a_round_runs_both_real_models_and_reveals_only_after_the_vote(
    arena_workspace, tandem_home, app_log
):
    arena = open_arena(arena_workspace)
    pool = arena.pool([LOCAL, CLOUD])
    progress: list[int] = []
    blind = arena.run("Name a colour.", pool, CancelToken(), on_progress=progress.append)
    assert progress == [1, 2]
    assert blind.left_text.strip()
    assert blind.right_text.strip()
    assert blind.vote is None

    before = json.dumps(blind.to_json()) + json.dumps(arena.rounds.export())
    logs = "".join(p.read_text(errors="replace") for p in tandem_home.rglob("*.log"))
    for name in (LOCAL, CLOUD, "smollm2", "loopcloud", "sent to"):
        assert name not in before, name
        assert name not in logs, name
    # The host itself is no secret (the round names the pool's hosts before it sends),
    # but the blind round does not say which side it served.
    assert "127.0.0.1" not in before
    with pytest.raises(UsageError, match="vote first"):
        arena.reveal(blind.id)

    reveal = arena.vote(blind.id, "left")
    names = {reveal.round.left.model, reveal.round.right.model}
    assert names == {"smollm2-135m-instruct-q4_1", CLOUD}
    lines = "\n".join(reveal.lines())
    assert "you preferred Left" in lines
    assert "tok/s" in lines  # the three facts of each side
    local_side = next(s for s in (reveal.round.left, reveal.round.right) if s.backend == "local")
    assert local_side.stats["cloud_equivalent_usd"] is not None

    board = arena.board()
    assert board.rounds == 1
    winner = reveal.round.left.model
    assert board.rows[0].model == winner
    assert board.rows[0].wins == 1
    assert board.rows[1].losses == 1
    assert all(r.mean_tokens_per_s and r.mean_tokens_per_s > 0 for r in board.rows)
    assert board.sentence.startswith("Over 1 rounds, your local model tied or beat")
    # The loopback server stands in for the cloud, and records what was sent to it.
    assert [r.host for r in arena_workspace.ledger.records()] == ["127.0.0.1"]


def test_two_local_models_run_one_after_the_other_on_the_one_engine(installed_default, tandem_home):
    twin = installed_default.with_name("twin-of-the-default.gguf")
    twin.symlink_to(installed_default.resolve())
    workspace = workspace_with_cloud("http://127.0.0.1:9/v1")
    try:
        arena = open_arena(workspace)
        pool = arena.pool(["local:smollm2-135m-instruct-q4_1", "local:twin-of-the-default"])
        assert privacy_notice(pool) == "This round keeps your prompt on this device."
        blind = arena.run("Say hi.", pool, CancelToken())
        assert blind.left_text
        assert blind.right_text
        reveal = arena.vote(blind.id, "tie")
        assert {reveal.round.left.backend, reveal.round.right.backend} == {"local"}
        assert arena.board().sentence == "Over 1 rounds, no local model has met a cloud one yet."
    finally:
        workspace.shutdown()


def test_the_round_names_the_hosts_before_sending_and_private_mode_keeps_to_local(tandem_home):
    workspace = Workspace()
    workspace.add_provider("oai", "openai", key="sk-test-abcdefghijklmnopqrstuvwxyz0123")
    workspace.set_private_mode(False)
    arena = open_arena(workspace)
    pool = arena.pool(["oai:gpt-4o-mini", "oai:gpt-4o"])
    assert privacy_notice(pool) == "This round may send your prompt to api.openai.com."
    with pytest.raises(SensitiveContent, match="cloud model"):
        arena.check("my key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", pool)
    workspace.set_private_mode(True)
    with pytest.raises(UsageError, match="Private mode is on"):
        open_arena(workspace).pool(["oai:gpt-4o-mini", "oai:gpt-4o"])
    workspace.shutdown()


def test_a_round_over_the_monthly_budget_is_refused_before_anything_is_sent(tandem_home):
    workspace = Workspace()
    workspace.add_provider("oai", "openai", key="sk-test-abcdefghijklmnopqrstuvwxyz0123")
    workspace.set_private_mode(False)
    workspace.save(dataclasses.replace(workspace.settings, monthly_budget_usd=0.000001))
    arena = open_arena(workspace)
    pool = arena.pool(["oai:gpt-4o-mini", "oai:gpt-4o"])
    check = arena.check("Write a long poem about the sea.", pool)
    assert check is not None
    assert check.over
    message = check.message()
    assert "gpt-4o" not in message  # the estimate covers the pool, never the draw
    with pytest.raises(OverBudget):
        arena.run("Write a long poem about the sea.", pool, CancelToken())
    assert workspace.ledger.records() == []
    assert arena.rounds.rounds() == []
    workspace.shutdown()


def test_the_board_counts_ties_and_both_bad_as_half_and_prices_wins(tmp_path):
    from app.store.history.arena import Side

    rounds = ArenaRounds(tmp_path / "h.db")

    def stats(model, backend, cost, ttft):
        return {"model": model, "backend": backend, "host": None, "privacy": "on this device"
                if backend == "local" else "sent to api.example.com", "finish_reason": "stop",
                "time_to_first_token_s": ttft, "tokens_per_s": 20.0, "prompt_tokens_per_s": 1.0,
                "prompt_tokens": 10, "completion_tokens": 20, "cost_usd": cost}  # fmt: skip

    votes = ["left", "left", "tie", "right", "bad"]
    for vote in votes:
        round_id = rounds.add("p", {"left": "a", "right": "b"}, {"left": False, "right": False}, [
            Side("left", "tiny", "local", None, stats("tiny", "local", 0.0, 0.2)),
            Side("right", "oai:gpt-4o-mini", "cloud", "api.example.com",
                 stats("oai:gpt-4o-mini", "cloud", 0.01, 0.6)),
        ])  # fmt: skip
        rounds.vote(round_id, vote)
    arena = Arena(rounds, lambda spec: None, rng=random.Random(1))
    board = arena.board()
    by_model = {r.model: r for r in board.rows}
    tiny, cloud = by_model["tiny"], by_model["oai:gpt-4o-mini"]
    assert (tiny.wins, tiny.ties, tiny.losses) == (2, 2, 1)
    assert tiny.win_rate == pytest.approx(3 / 5)
    assert tiny.rating > cloud.rating
    assert tiny.low <= tiny.rating <= tiny.high
    assert cloud.cost_per_round_usd == pytest.approx(0.01)
    assert cloud.cost_per_win_usd == pytest.approx(0.05)
    assert tiny.cost_per_win_usd == 0.0
    assert tiny.share_on_device == 1.0
    assert cloud.share_on_device == 0.0
    assert tiny.mean_time_to_first_token_s == pytest.approx(0.2)
    assert board.sentence == (
        "Over 5 rounds, your local model tied or beat oai:gpt-4o-mini in 3; "
        "those 3 answers would have cost $0.03 in the cloud."
    )
    rounds.close()
