"""The GUI process, measured from outside it: the real window, offscreen, in a process
this script starts (QT_QPA_PLATFORM=offscreen).

- cold start: from starting `python -m app` (the `tandem` entry point) with an empty
  TANDEM_HOME (no model, so none loads) to the window shown and the event loop idle.
- RSS, idle: the GUI process's resident memory once the model is loaded in the engine
  process and the loop has been idle for a second.
- event-loop stall: a 5 ms QTimer in the GUI process records the longest gap between
  its ticks while an answer streams at full speed (sent through the composer, as a
  person would). The same probe on the idle window is the machine's own noise floor.
- GUI CPU: the GUI process's CPU time (all its threads; the engine is another process)
  over the streaming window, divided by wall time.

- replay (`--replay TOK_S`): the window's own rendering alone, apart from the engine's
  speed: a 1,500-token Markdown answer fed to the real window, offscreen, a few
  characters at a time at a fixed token rate, as a streaming answer arrives; the GUI
  process's CPU over wall time and the longest stall. On a loaded machine the engine may
  write a token a second, and the figure above then says nothing about rendering.

    python bench/gui.py [--model PATH] [--answers N] [--answer-tokens N] [--cold-runs N]
    python bench/gui.py --replay 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import REPO, RESULTS, add_model_args, hardware, resolve_model_args, shown, write_json

# Prompts the small default model answers at length, in Markdown (headings, lists).
PROMPTS = [
    "Write a long essay about the history of the bicycle, with Markdown headings and "
    "bullet points.",
    "Write a detailed guide to keeping bees, with headings and bullet lists.",
    "Write a long story about a lighthouse keeper and a storm.",
]


# ----- inside the GUI process


class StallProbe:
    """A 5 ms precise timer; the gaps between its ticks are how long the loop was busy."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {
            "max_gap_ms": gaps[-1] * 1000,
            "p99_gap_ms": gaps[int(len(gaps) * 0.99) - 1 if len(gaps) > 1 else 0] * 1000,
            "median_gap_ms": statistics.median(gaps) * 1000,
            "ticks": len(self.gaps),
        }

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now


def _wait(done: Any, timeout_s: float) -> bool:
    """Run the event loop (as `app.exec` would) until `done()` or the timeout.

    The loop is Qt's own, checked every 20 ms, rather than a processEvents() spin: the
    bench must not add Qt calls of its own to what the GUI thread does.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return True
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    check.start()
    deadline.start(int(timeout_s * 1000))
    loop.exec()
    check.stop()
    deadline.stop()
    return bool(done())


def _thread_cpu_s(process: Any, native_id: int | None) -> float:
    """CPU seconds of one thread of `process` (the GUI thread: its share of the CPU)."""
    for thread in process.threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


def _idle(seconds: float) -> None:
    end = time.perf_counter() + seconds
    _wait(lambda: time.perf_counter() >= end, seconds + 1)


def child_stream(args: argparse.Namespace) -> dict[str, Any]:
    """Load the model, measure idle RSS, then stream answers under the stall probe."""
    import dataclasses
    import gc

    import psutil
    from PySide6.QtWidgets import QApplication

    from app.core.events import Finished
    from app.services.workspace import Workspace
    from app.ui.chat import message_widget
    from app.ui.window.main_window import MainWindow

    render_s: list[float] = []
    original_render = message_widget.MessageWidget.render_text

    def timed_render(self: Any) -> None:
        started = time.perf_counter()
        original_render(self)
        render_s.append(time.perf_counter() - started)

    message_widget.MessageWidget.render_text = timed_render  # type: ignore[method-assign]

    app = QApplication([])
    app.setApplicationName("Tandem")
    window = MainWindow(Workspace())
    window.show()
    model = Path(args.model)
    if window.engine.loaded is None or window.engine.loaded.path != model:
        window.load_model(model)
    loaded = _wait(lambda: window.engine.loaded is not None, 300)
    if not loaded:
        raise SystemExit("the model did not load in the window")
    _wait(lambda: str(window.engine.state) == "ready", 30)
    _idle(1.0)
    gc.collect()
    _idle(0.5)
    me = psutil.Process()
    rss_idle = me.memory_info().rss
    try:
        uss_idle = me.memory_full_info().uss
    except psutil.Error:
        uss_idle = None
    engine_rss = window.engine.rss_bytes()

    probe = StallProbe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    probe.start()
    _idle(2.0)
    idle_probe = probe.stop()
    idle_probe["none_refs_lost"] = none_before - sys.getrefcount(None)
    idle_probe["true_refs_lost"] = true_before - sys.getrefcount(True)

    # The window's own settings (threads, GPU layers), as a person would have them;
    # greedy and a fixed length so that every run streams the same amount.
    base_params = window.service.params
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    answers = []
    lengths = [args.answer_tokens] * args.answers + ([args.long_tokens] if args.long_tokens else [])
    for n, max_tokens in enumerate(lengths):
        window.pane_a.service.params = dataclasses.replace(
            base_params, temperature=0.0, max_tokens=max_tokens
        )
        window.new_chat()
        _idle(0.3)
        render_s.clear()
        # A binding that drops a reference to None or True on each call (PySide6 6.12.0
        # on CPython 3.11 does) aborts the process once the count reaches zero.
        none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
        cpu_before = me.cpu_times()
        main_before = _thread_cpu_s(me, threading.main_thread().native_id)
        started = time.perf_counter()
        probe.start()
        if profiler is not None:
            profiler.enable()
        window.composer.set_text(PROMPTS[n % len(PROMPTS)])
        window.composer.button.click()
        finished = _wait(lambda: not window.generating, 300)
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - started
        stall = probe.stop()
        cpu_after = me.cpu_times()
        main_cpu_s = _thread_cpu_s(me, threading.main_thread().native_id) - main_before
        none_lost = none_before - sys.getrefcount(None)
        true_lost = true_before - sys.getrefcount(True)
        cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
        stats = next(
            (e.stats for s, e in reversed(window.chat.compare_events) if isinstance(e, Finished)),
            None,
        )
        answers.append({
            "max_tokens": max_tokens,
            "finished": finished,
            "wall_s": wall,
            "cpu_s": cpu_s,
            "cpu_fraction_of_one_core": cpu_s / wall,
            "gui_thread_cpu_fraction": main_cpu_s / wall,
            **stall,
            "renders": len(render_s),
            "render_max_ms": max(render_s, default=0.0) * 1000,
            "render_median_ms": statistics.median(render_s or [0.0]) * 1000,
            "render_total_s": sum(render_s),
            "tokens": stats.completion_tokens if stats else None,
            "tok_s": stats.tokens_per_s if stats else None,
            "answer_chars": len(window.pane_a.reply.text) if window.pane_a.reply else 0,
            "none_refs_lost": none_lost,
            "true_refs_lost": true_lost,
            "none_refs_left": sys.getrefcount(None),
            "true_refs_left": sys.getrefcount(True),
        })  # fmt: skip
        _idle(0.3)
    top: list[str] = []
    if profiler is not None:
        import io
        import pstats

        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        top = out.getvalue().splitlines()
        profiler.dump_stats(str(RESULTS / "gui_stream.prof"))
    window.close()
    loaded = window.engine.loaded
    return {
        "threads": loaded.threads if loaded else None,
        "gpu_layers": loaded.gpu_layers if loaded else None,
        "rss_idle_bytes": rss_idle,
        "uss_idle_bytes": uss_idle,
        "engine_rss_bytes": engine_rss,
        "idle_probe": idle_probe,
        "answers": answers,
        "profile_top": top,
    }


def child_cold() -> None:
    """Run the real entry point; print when the window is shown and the loop is idle."""
    imported_at = time.time()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    original_exec = QApplication.exec

    def report() -> None:
        shown_at = time.time()
        app = QApplication.instance()
        app.processEvents()  # whatever the first paint left queued
        windows = [w for w in app.topLevelWidgets() if isinstance(w, QWidget) and w.isVisible()]
        print(json.dumps({"qt_imported_at": imported_at, "loop_started_at": shown_at,
                          "ready_at": time.time(),
                          "window": windows[0].windowTitle() if windows else None}),
              flush=True)  # fmt: skip
        app.quit()

    def exec_then_report(*a: Any) -> int:
        QTimer.singleShot(0, report)
        return int(original_exec())

    QApplication.exec = exec_then_report  # type: ignore[method-assign]
    from app.__main__ import main

    sys.argv = ["tandem"]
    main()


# ----- the parent


def _env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TANDEM_HOME"] = home
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).strip(os.pathsep)
    return env


def cold_start(runs: int) -> dict[str, Any]:
    times, breakdown = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="tandem-cold-") as home:
            started = time.time()
            done = subprocess.run(
                [sys.executable, __file__, "--child", "cold"],
                env=_env(home),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
            if done.returncode != 0 or not lines:
                raise SystemExit(f"cold start failed: {done.stderr[-800:]}")
            mark = json.loads(lines[-1])
            times.append(mark["ready_at"] - started)
            breakdown.append({
                "interpreter_and_qt_import_s": mark["qt_imported_at"] - started,
                "app_and_window_s": mark["loop_started_at"] - mark["qt_imported_at"],
                "first_events_s": mark["ready_at"] - mark["loop_started_at"],
            })  # fmt: skip
    return {"runs_s": times, "median_s": statistics.median(times), "first_run_s": times[0],
            "breakdown": breakdown, "target_s": 1.0}  # fmt: skip


def stream(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tandem-gui-") as home:
        command = [sys.executable, __file__, "--child", "stream", "--model", str(args.model),
                   "--answers", str(args.answers), "--answer-tokens", str(args.answer_tokens),
                   "--long-tokens", str(args.long_tokens),
                   "--threads", str(args.threads)]  # fmt: skip
        if args.profile:
            command.append("--profile")
        done = subprocess.run(
            command, env=_env(home), capture_output=True, text=True, timeout=900, check=False
        )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the streaming window failed: {done.stderr[-1500:]}")
    return dict(json.loads(lines[-1]))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    cold = cold_start(args.cold_runs)
    streamed = stream(args)
    answers = [a for a in streamed["answers"] if a["max_tokens"] == args.answer_tokens]
    long = [a for a in streamed["answers"] if a["max_tokens"] != args.answer_tokens]
    return {
        "model": args.model.name,
        "threads": args.threads,
        "cold_start": cold,
        "rss_idle_mb": streamed["rss_idle_bytes"] / 1e6,
        "uss_idle_mb": (streamed["uss_idle_bytes"] or 0) / 1e6,
        "engine_rss_mb": (streamed["engine_rss_bytes"] or 0) / 1e6,
        "rss_target_mb": 150,
        "idle_max_gap_ms": streamed["idle_probe"]["max_gap_ms"],
        "idle_probe": streamed["idle_probe"],
        "refs_lost_per_answer": {
            "None": statistics.median(a["none_refs_lost"] for a in answers),
            "True": statistics.median(a["true_refs_lost"] for a in answers),
        },
        "stream_max_gap_ms": max(a["max_gap_ms"] for a in answers),
        "stream_p99_gap_ms": max(a["p99_gap_ms"] for a in answers),
        "stall_target_ms": 50,
        "gui_cpu_fraction": statistics.median(a["cpu_fraction_of_one_core"] for a in answers),
        "gui_thread_cpu_fraction": statistics.median(a["gui_thread_cpu_fraction"] for a in answers),
        "cpu_target_fraction": 0.15,
        "answers": answers,
        "long_answer": long[0] if long else None,
        "profile_top": streamed["profile_top"],
    }


def _replay_text(tokens: int) -> list[str]:
    """A Markdown answer of about `tokens` tokens (four characters a token), in pieces of
    one token, the way a model streams it."""
    paragraph = (
        "## Part {n}\n\nThe bicycle changed how people travelled, worked and met. "
        "Early machines were heavy; later ones used **steel tubes** and *pneumatic tyres*.\n\n"
        "- lighter frames and better brakes\n- gears for hills\n- a chain drive\n\n"
    )
    text = ""
    n = 1
    while len(text) < tokens * 4:
        text += paragraph.format(n=n)
        n += 1
    text = text[: tokens * 4]
    return [text[i : i + 4] for i in range(0, len(text), 4)]


def replay(tok_s: float, tokens: int) -> dict[str, Any]:
    """See the module's docstring: the real window, its rendering alone."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="tandem-replay-")
    os.environ["TANDEM_HOME"] = home
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.events import Delta
    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(Workspace())
    window.resize(1300, 820)
    window.show()
    _idle(1.0)
    pieces = _replay_text(tokens)
    pane = window.pane_a
    pane.start_exchange("Write a long essay about the history of the bicycle.")
    probe = StallProbe()
    feeder = QTimer()
    feeder.setInterval(10)
    sent = [0]
    started = time.perf_counter()

    def feed() -> None:
        due = min(len(pieces), int((time.perf_counter() - started) * tok_s))
        while sent[0] < due:
            pane.apply(Delta(pieces[sent[0]]))
            sent[0] += 1

    feeder.timeout.connect(feed)
    cpu_before = time.process_time()
    probe.start()
    feeder.start()
    _wait(lambda: sent[0] >= len(pieces), len(pieces) / tok_s + 60)
    feeder.stop()
    pane.end()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    stall = probe.stop()
    renders = window.chat_view.render_count
    window.close()
    app.processEvents()
    return {
        "tok_s": tok_s,
        "tokens": len(pieces),
        "wall_s": wall,
        "cpu_fraction_of_one_core": cpu / wall,
        "renders": renders,
        **stall,
        "load_average": os.getloadavg(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_args(parser)
    parser.add_argument("--answers", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=400)
    parser.add_argument("--long-tokens", type=int, default=1500, help="one long answer; 0: none")
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the GUI thread")
    parser.add_argument("--child", choices=["cold", "stream"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "gui.json")
    parser.add_argument(
        "--replay", type=float, metavar="TOK_S", help="only the window's rendering, at TOK_S"
    )
    args = parser.parse_args()
    if args.replay:
        figures = replay(args.replay, args.long_tokens or 1500)
        print(json.dumps(figures), flush=True)
        print(f"replayed {figures['tokens']} tokens at {args.replay:.0f} tok/s: GUI CPU "
              f"{figures['cpu_fraction_of_one_core'] * 100:.1f} % of one core, longest stall "
              f"{figures['max_gap_ms']:.1f} ms, {figures['renders']} renders"
              f"   (targets <= 15 %, <= 50 ms)")  # fmt: skip
        os._exit(0)
    if args.child == "cold":
        child_cold()
        return 0
    if args.child == "stream":
        print(json.dumps(child_stream(args)), flush=True)
        os._exit(0)  # skip interpreter teardown: PySide6 can abort in it, after the figures
    resolve_model_args(args)
    result = measure(args)
    result["hardware"] = hardware()
    write_json(args.out, result)
    c = result["cold_start"]
    print(f"cold start to a usable window: median {c['median_s'] * 1000:.0f} ms "
          f"(first {c['first_run_s'] * 1000:.0f} ms)   (target <= 1000 ms)")  # fmt: skip
    print(f"GUI RSS idle, model loaded: {result['rss_idle_mb']:.0f} MB "
          f"(engine process {result['engine_rss_mb']:.0f} MB)   (target <= 150 MB)")  # fmt: skip
    print(f"longest event-loop stall while streaming: {result['stream_max_gap_ms']:.1f} ms "
          f"(idle window: {result['idle_max_gap_ms']:.1f} ms)   (target <= 50 ms)")  # fmt: skip
    print(
        f"GUI CPU while streaming: {result['gui_cpu_fraction'] * 100:.1f} % of one core"
        "   (target <= 15 %)"
    )
    if long := result["long_answer"]:
        cpu = long["cpu_fraction_of_one_core"] * 100
        print(f"  ... a {long['tokens']}-token answer: {cpu:.1f} % of one core, "
              f"longest stall {long['max_gap_ms']:.1f} ms")  # fmt: skip
    lost = result["refs_lost_per_answer"]
    if lost["None"] > 50 or lost["True"] > 50:
        print(
            f"WARNING: the GUI process loses {lost['None']:.0f} references to None and "
            f"{lost['True']:.0f} to True per answer; it aborts when either reaches zero "
            "(a refcount bug in the Qt binding: see docs/performance.md)"
        )
    print(f"written to {shown(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
