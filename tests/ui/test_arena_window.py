"""The arena window against the real default model and llama-cpp-python's server on
loopback: nothing names a side before the vote; the reveal and the board after it. The
usage dialog, and the budget question in the main window's send path."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTabWidget,
    QWidget,
)

from tests.ui.conftest import wait_until_done

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz0123"
LOCAL = "local:smollm2-135m-instruct-q4_1"
CLOUD = "loopcloud:smollm2"
SECRETS = ("smollm2", "loopcloud", "sent to", "on this device ·", "tok/s", "127.0.0.1")


def every_text(window: QWidget) -> str:
    """Every piece of text the window and its children show or announce."""
    pieces = [window.windowTitle(), window.statusBar().currentMessage()]
    for widget in [window, *window.findChildren(QWidget)]:
        pieces += [widget.toolTip(), widget.statusTip(), widget.whatsThis(),
                   widget.accessibleName(), widget.accessibleDescription(),
                   widget.windowTitle()]  # fmt: skip
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            pieces.append(widget.text())
        if isinstance(widget, QPlainTextEdit):
            pieces += [widget.toPlainText(), widget.placeholderText()]
        if isinstance(widget, QGroupBox):
            pieces.append(widget.title())
        if isinstance(widget, QTabWidget):
            for n in range(widget.count()):
                pieces += [widget.tabText(n), widget.tabToolTip(n)]
        if isinstance(widget, QTableWidget):
            for row in range(widget.rowCount()):
                for column in range(widget.columnCount()):
                    item = widget.item(row, column)
                    pieces += [item.text(), item.toolTip()] if item else []
    return "\n".join(pieces)


@pytest.fixture
def arena_window(qtbot, installed_default, llama_server, app_log):
    from app.services.workspace import Workspace
    from app.ui.arena.window import ArenaWindow

    workspace = Workspace()
    workspace.add_provider("loopcloud", "custom", llama_server, "smollm2", key=KEY)
    workspace.settings = workspace.settings.__class__(
        **{**{f: getattr(workspace.settings, f) for f in workspace.settings.__dataclass_fields__},
           "generation": workspace.settings.generation.with_(max_tokens=10, temperature=0.0)}
    )  # fmt: skip
    win = ArenaWindow(workspace)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    workspace.shutdown()


def test_nothing_names_a_side_before_the_vote_and_the_reveal_names_both(
    qtbot, arena_window, tandem_home, dialogs
):
    win = arena_window
    assert set(win.pool_specs) == {LOCAL, CLOUD}
    assert "keeps your prompt on this device" in win.privacy.text()
    win.prompt.setPlainText("Name a planet.")
    log_file = win.workspace.paths.log_file
    logged_before = log_file.stat().st_size if log_file.exists() else 0
    win.start_button.click()
    assert win.busy.isVisible()
    assert not win.left.answer.toPlainText()  # nothing shows until both have finished
    during = every_text(win)
    qtbot.waitUntil(lambda: win.vote_buttons["left"].isEnabled(), timeout=120_000)
    assert win.left.answer.toPlainText().strip()
    assert win.right.answer.toPlainText().strip()
    assert not win.tabs.isTabEnabled(1)  # no board while a round waits for its vote
    before = during + every_text(win)
    logs = log_file.read_bytes()[logged_before:].decode(errors="replace")
    assert "arena: round" in logs  # the round's own lines, by number only
    for secret in SECRETS:
        assert secret not in before, secret
    for name in (LOCAL, CLOUD, "smollm2", "loopcloud"):
        assert name not in logs, name

    win.vote_buttons["right"].click()
    revealed = win.left.reveal.text() + "\n" + win.right.reveal.text()
    assert "smollm2-135m-instruct-q4_1 —" in revealed
    assert "loopcloud:smollm2 —" in revealed
    assert "tok/s" in win.left.reveal.text()
    assert "you preferred Right" in win.statusBar().currentMessage()
    assert win.tabs.isTabEnabled(1)
    win.tabs.setCurrentIndex(1)
    assert win.board.table.rowCount() == 2
    models = {win.board.table.item(r, 0).text() for r in range(2)}
    assert models == {"smollm2-135m-instruct-q4_1", "loopcloud:smollm2"}
    assert win.board.sentence.text().startswith("Over 1 rounds, your local model")


def test_usage_dialog_draws_its_chart_from_the_stored_answers_and_exports_csv(qtbot, tmp_path):
    from app.store.history.store import HistoryStore
    from app.ui.dialogs.usage import UsageDialog

    db = tmp_path / "h.db"
    with HistoryStore(db) as history:
        conversation = history.create_conversation("t")
        for stats in ({"model": "tiny", "backend": "local", "cost_usd": 0.0,
                       "cloud_equivalent_usd": 0.004, "prompt_tokens": 5, "completion_tokens": 7},
                      {"model": "oai:gpt-4o-mini", "backend": "cloud", "cost_usd": 0.01,
                       "prompt_tokens": 5, "completion_tokens": 7}):  # fmt: skip
            history.add_message(conversation, "user", "q")
            answer = history.add_message(conversation, "assistant", "", status="streaming")
            history.finish_message(answer, "a", "complete", stats, None)
    saved: list[float | None] = []
    dialog = UsageDialog(db, budget_usd=None, save_budget=saved.append)
    qtbot.addWidget(dialog)
    dialog.show()
    assert len(dialog.chart.buckets) == 1
    assert dialog.chart.buckets[0].spent_usd == pytest.approx(0.01)
    assert "spent $0.01 on cloud models, saved $0.004 by local answers" in dialog.summary.text()
    assert dialog.table.item(1, 0).text() == "total"
    dialog.by.setCurrentIndex(1)
    assert dialog.report.by == "month"
    dialog.chart.grab()  # paints without error
    assert dialog.budget.text() == "no monthly budget"
    dialog.budget.setValue(12.5)
    dialog.budget.editingFinished.emit()
    dialog.budget.setValue(0)
    dialog.budget.editingFinished.emit()
    assert saved == [12.5, None]
    dialog.export_csv(str(tmp_path / "u.csv"))
    with (tmp_path / "u.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["saved_usd"]) == pytest.approx(0.004)


def test_the_window_asks_before_a_send_over_the_monthly_budget(
    qtbot, installed_default, fault_server, tandem_home, dialogs
):
    import dataclasses

    from app.services.workspace import Workspace
    from app.ui.window.main_window import MainWindow

    (tandem_home / "config").mkdir(parents=True, exist_ok=True)
    (tandem_home / "config" / "prices.toml").write_text(
        "[fake.ok]\ninput = 1000.0\noutput = 1000.0\n"
    )
    setup = Workspace()
    setup.add_provider("fake", "custom", fault_server.url, "ok", key=KEY)
    setup.save(dataclasses.replace(setup.settings, monthly_budget_usd=0.1))
    win = MainWindow(Workspace())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.state_label.text() == "Engine: ready", timeout=60_000)
    win.choose_model("a", "fake:ok")
    win.composer.set_text("Hello")
    qtbot.keyClick(win.composer.editor, Qt.Key.Key_Return)
    wait_until_done(qtbot, win)
    titles = [title for title, _text in dialogs["shown"]]
    assert "Monthly budget" in titles
    question = dict(dialogs["shown"])["Monthly budget"]
    assert "$0.10 budget" in question
    assert len(fault_server.bodies) == 1  # the fixture answers yes: it was sent

    from app.ui.arena.window import ArenaWindow

    view = next(m for m in win.menuBar().actions() if m.text() == "&View").menu()
    assert {"Arena…", "Usage…"} <= {a.text().replace("&", "") for a in view.actions()}
    win.menu.arena.trigger()
    (arena,) = win.findChildren(ArenaWindow)
    assert arena.isVisible()
    assert arena.windowTitle() == "Tandem — Arena"
    arena.close()
    win.close()
