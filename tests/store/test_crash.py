"""A real writer process, killed with SIGKILL mid-stream, twenty times on one database."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from app.store.history.store import INTERRUPTED, HistoryStore
from tests.store.crash_writer import stream_text

REPO = Path(__file__).resolve().parents[2]
RUNS = 20

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _start_writer(db: Path, run: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_writer", str(db), str(run)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.timeout(120)
def test_sigkill_mid_stream_keeps_every_committed_word(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    committed: dict[int, str] = {}  # message id -> sha256 of the text the writer saved
    for run in range(RUNS):
        writer = _start_writer(db, run)
        assert writer.stdout is not None
        streaming_id = None
        try:
            for line in writer.stdout:
                report = json.loads(line)
                if "streaming" in report:
                    streaming_id = report["streaming"]
                    break
                committed[report["id"]] = report["sha256"]
            time.sleep(rng.uniform(0.0, 0.6))  # anywhere in the stream, mid-commit included
        finally:
            writer.send_signal(signal.SIGKILL)
            _, stderr = writer.communicate(timeout=10)
        where = f"run {run}, seed {seed}"
        assert streaming_id is not None, f"{where}: writer died early: {stderr}"
        assert writer.returncode == -signal.SIGKILL, where

        with closing(sqlite3.connect(db)) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
        with HistoryStore(db) as store:  # opening marks the cut-off answer 'interrupted'
            assert store.recovered_from is None, where
            messages = {
                m.id: m
                for info in store.list_conversations()
                for m in store.get_conversation(info.id).messages
            }
        for message_id, sha in committed.items():
            message = messages[message_id]
            assert message.status == "complete", where
            assert hashlib.sha256(message.content.encode()).hexdigest() == sha, where
        partial = messages[streaming_id]
        assert partial.status == INTERRUPTED, where
        assert partial.content, where
        assert stream_text(run).startswith(partial.content), where
    assert len(committed) == RUNS * 6


@pytest.mark.timeout(120)
def test_processes_writing_at_once_keep_every_word_and_each_others_live_answers(
    tmp_path: Path,
) -> None:
    """Four writers stream at the same moment while a fifth store (the window, say)
    opens the file and writes: nobody's live answer is taken for a dead one."""
    db = tmp_path / "history.sqlite3"
    writers = [_start_writer(db, run) for run in range(4)]
    committed: dict[int, str] = {}
    streaming: dict[int, int] = {}
    try:
        for run, writer in enumerate(writers):
            assert writer.stdout is not None
            for line in writer.stdout:
                report = json.loads(line)
                if "streaming" in report:
                    streaming[run] = report["streaming"]
                    break
                committed[report["id"]] = report["sha256"]
        assert len(streaming) == len(writers)
        with HistoryStore(db) as store:  # all four are streaming now
            mine = store.add_message(
                store.create_conversation("meanwhile"), "user", "written while four stream"
            )
            status = {
                m.id: m.status
                for info in store.list_conversations()
                for m in store.get_conversation(info.id).messages
            }
        assert [status[i] for i in streaming.values()] == ["streaming"] * len(writers)
    finally:
        for writer in writers:
            writer.send_signal(signal.SIGKILL)
            writer.communicate(timeout=10)

    with closing(sqlite3.connect(db)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with HistoryStore(db) as store:
        messages = {
            m.id: m
            for info in store.list_conversations()
            for m in store.get_conversation(info.id).messages
        }
    for message_id, sha in committed.items():
        assert messages[message_id].status == "complete"
        assert hashlib.sha256(messages[message_id].content.encode()).hexdigest() == sha
    for run, message_id in streaming.items():
        assert messages[message_id].status == INTERRUPTED
        assert stream_text(run).startswith(messages[message_id].content)
    assert messages[mine].content == "written while four stream"
