"""Open a 2,000-message conversation in the window: time to first paint.

Builds the conversation in a temporary history, then times `open_conversation`
through to the first paint of the message column, in the GUI process, offscreen.

    QT_QPA_PLATFORM=offscreen python bench/history_open.py [--messages N] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import RESULTS, hardware, shown, write_json


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "history.json")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="tandem-bench-")
    os.environ["TANDEM_HOME"] = home

    from PySide6.QtWidgets import QApplication

    from app.services.workspace import Workspace
    from app.store.history.store import HistoryStore

    app = QApplication([])
    workspace = Workspace()
    store: HistoryStore = workspace.history()
    cid = store.create_conversation("long")
    paragraph = (
        "Here is a **Markdown** answer with a list:\n\n- one\n- two\n\n```python\nprint(1)\n```\n"
    )
    for n in range(args.messages):
        role = "user" if n % 2 == 0 else "assistant"
        store.add_message(cid, role, f"Message {n}. " + (paragraph if role == "assistant" else ""))

    from app.ui.window.main_window import MainWindow

    window = MainWindow(workspace)
    window.show()
    app.processEvents()

    times = []
    for _ in range(args.runs):
        window.new_chat()
        app.processEvents()
        started = time.perf_counter()
        window.open_conversation(cid)
        app.processEvents()  # layout
        window.chat_view.viewport().grab()  # the first paint of the message column
        times.append(time.perf_counter() - started)
    window.close()
    median_ms = statistics.median(times) * 1000
    result = {"messages": args.messages, "first_paint_ms": [t * 1000 for t in times],
              "median_ms": median_ms, "target_ms": 300, "hardware": hardware()}  # fmt: skip
    write_json(args.out, result)
    print(f"open a {args.messages:,}-message conversation to first paint: "
          f"median {median_ms:.0f} ms over {args.runs} runs (target <= 300 ms)")  # fmt: skip
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
