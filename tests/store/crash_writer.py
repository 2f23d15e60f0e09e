"""A history writer process for test_crash.py, killed with SIGKILL at a random moment.

Usage: python -m tests.store.crash_writer DB RUN

It writes a few complete messages, printing one JSON line after each is committed,
then streams a long answer with update_streaming until it is killed.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path

from app.store.history.store import HistoryStore


def stream_text(run: int) -> str:
    """The answer that run `run` streams; the saved partial must be a prefix of it."""
    rng = random.Random(run)
    words = ["alpha", "βeta", "gamma", "δelta", "naïve", "café", "🙂", "line\n", "```code```"]
    return " ".join(f"{rng.choice(words)}{i}" for i in range(60_000))


def _report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> None:
    db, run = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(run * 7919)
    store = HistoryStore(db)
    conversation = store.create_conversation(f"run {run}")
    for n in range(3):
        question = f"question {n} of run {run}: " + "why? " * rng.randrange(1, 2000)
        user_id = store.add_message(conversation, "user", question)
        _report(id=user_id, sha256=hashlib.sha256(question.encode()).hexdigest())
        answer = f"answer {n} of run {run}: " + "because. " * rng.randrange(1, 5000)
        if n % 2:
            answer_id = store.add_message(conversation, "assistant", answer, model="m")
        else:
            answer_id = store.add_message(conversation, "assistant", "", status="streaming")
            store.update_streaming(answer_id, answer[:10])
            store.finish_message(answer_id, answer, "complete", {"privacy": "on this device"})
        _report(id=answer_id, sha256=hashlib.sha256(answer.encode()).hexdigest())
    text = stream_text(run)
    streaming_id = store.add_message(conversation, "assistant", "", status="streaming", model="m")
    position = 1 + rng.randrange(200)
    store.update_streaming(streaming_id, text[:position])
    store.flush()
    _report(streaming=streaming_id)
    while True:  # until killed
        position = min(len(text), position + rng.randrange(1, 200))
        store.update_streaming(streaming_id, text[:position])
        time.sleep(0.001)


if __name__ == "__main__":
    main()
