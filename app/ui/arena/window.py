"""The arena window: one prompt to two unnamed models, a vote, then who was who.

Before the vote nothing here names a side: the title, the column headers, the status
bar and the board stay the same whoever answered, both answers appear together once
both have finished, and a failed side only says that it failed. The pool is chosen in
a dialog of its own; the round names the hosts it may send to before it sends.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken
from app.services.arena import Arena, Contender, Reveal, candidates, open_arena, privacy_notice
from app.services.workspace import Workspace
from app.store.history.arena import BlindRound
from app.ui import alerts
from app.ui.arena.board_view import BoardView
from app.ui.arena.pool_dialog import PoolDialog
from app.ui.bridge import Task
from app.ui.widgets.plain import plain_label, show_plain

TITLE = "Tandem — Arena"
VOTES = (("Left is better", "left"), ("Right is better", "right"), ("Tie", "tie"),
         ("Both bad", "bad"))  # fmt: skip
FAILED = "This answer failed. Why is shown after the vote."


class _Progress(QObject):
    """Signals: finished(int): how many of the two answers are done (never which)."""

    finished = Signal(int)


class _Column(QGroupBox):
    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setAccessibleName(f"{title} answer")
        self.reveal: QLabel = plain_label()
        self.reveal.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.reveal)

    def show_answer(self, text: str, failed: bool) -> None:
        self.answer.setPlainText(FAILED if failed and not text else text)
        show_plain(self.reveal, "")


class ArenaWindow(QMainWindow):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle(TITLE)
        self.resize(1200, 780)
        self.pool_specs: list[str] = [c.spec for c in candidates(workspace) if not c.refusal]
        self.arena: Arena | None = None
        self.pending: BlindRound | None = None
        self.revealed: Reveal | None = None
        self._cancel: CancelToken | None = None
        self._progress = _Progress(self)
        self._progress.finished.connect(self._on_progress)

        self.pool_label: QLabel = plain_label()
        self.pool_button = QPushButton("Choose pool…")
        self.pool_button.clicked.connect(self.choose_pool)
        self.privacy: QLabel = plain_label()
        self.privacy.setWordWrap(True)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Ask both models the same question…")
        self.prompt.setAccessibleName("Prompt")
        self.prompt.setFixedHeight(90)
        self.start_button = QPushButton("Start round")
        self.start_button.clicked.connect(self.start_round)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)
        self.busy_label: QLabel = plain_label()
        self.left, self.right = _Column("Left"), _Column("Right")
        self.vote_buttons: dict[str, QPushButton] = {}
        votes = QHBoxLayout()
        for label, vote in VOTES:
            button = QPushButton(label)
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, v=vote: self.vote(v))
            self.vote_buttons[vote] = button
            votes.addWidget(button)

        top = QHBoxLayout()
        top.addWidget(self.pool_label, 1)
        top.addWidget(self.pool_button)
        ask = QHBoxLayout()
        ask.addWidget(self.prompt, 1)
        ask.addWidget(self.start_button)
        progress = QHBoxLayout()
        progress.addWidget(self.busy, 1)
        progress.addWidget(self.busy_label)
        columns = QHBoxLayout()
        columns.addWidget(self.left)
        columns.addWidget(self.right)
        round_page = QWidget()
        layout = QVBoxLayout(round_page)
        for row in (top, ask):
            layout.addLayout(row)
        layout.addWidget(self.privacy)
        layout.addLayout(progress)
        layout.addLayout(columns, 1)
        layout.addLayout(votes)

        self.board = BoardView()
        self.tabs = QTabWidget()
        self.tabs.addTab(round_page, "Round")
        self.tabs.addTab(self.board, "Board")
        self.tabs.currentChanged.connect(self._on_tab)
        self.setCentralWidget(self.tabs)
        self.statusBar()
        self._show_pool()

    # ----- the pool

    def _show_pool(self) -> None:
        count = len(self.pool_specs)
        show_plain(self.pool_label, f"Pool: {count} model{'s' if count != 1 else ''}")
        try:
            pool = self._arena().pool(self.pool_specs) if count >= 2 else []
        except TandemError as exc:
            show_plain(self.privacy, exc.message)
            return
        show_plain(self.privacy, privacy_notice(pool) if pool else "Choose at least two models.")

    def choose_pool(self) -> None:
        dialog = PoolDialog(candidates(self.workspace), self.pool_specs, self)
        if dialog.exec():
            self.pool_specs = dialog.chosen()
            self._show_pool()

    def _arena(self) -> Arena:
        if self.arena is not None:
            self.arena.rounds.close()
        self.arena = open_arena(self.workspace)
        return self.arena

    # ----- the round

    def start_round(self) -> None:
        prompt = self.prompt.toPlainText()
        if not prompt.strip():
            alerts.warning(self, "Write a prompt first.")
            return
        if self.pending is not None:
            alerts.warning(self, "Vote on this round first.")
            return
        arena = self._arena()
        try:
            pool = arena.pool(self.pool_specs)
            budget = arena.check(prompt, pool)
        except SensitiveContent as exc:
            alerts.choose(self, "Sensitive content", exc.message, ["Change the prompt"])
            return
        except TandemError as exc:
            alerts.warning(self, exc.message)
            return
        over_budget = False
        if budget is not None:
            if not alerts.ask(self, "Monthly budget", budget.message()):
                return
            over_budget = True
        self._run(arena, prompt, pool, over_budget)

    def _run(self, arena: Arena, prompt: str, pool: list[Contender], over_budget: bool) -> None:
        self.revealed = None
        for column in (self.left, self.right):
            column.show_answer("", False)
        self.board.clear("The board shows again once you have voted on this round.")
        self.tabs.setTabEnabled(1, False)
        self.start_button.setEnabled(False)
        self.pool_button.setEnabled(False)
        self.busy.setVisible(True)
        show_plain(self.busy_label, "Asking both models; the answers show when both are done.")
        cancel = CancelToken()
        self._cancel = cancel
        progress = self._progress.finished
        task = Task(
            lambda: arena.run(
                prompt, pool, cancel, over_budget=over_budget, on_progress=progress.emit
            )
        )
        task.succeeded.connect(self._on_round)
        task.failed.connect(self._on_failed)
        task.start()

    def _on_progress(self, done: int) -> None:
        if self.busy.isVisible():
            show_plain(self.busy_label, f"{done} of 2 answers finished")

    def _idle(self) -> None:
        self.busy.setVisible(False)
        show_plain(self.busy_label, "")
        self.start_button.setEnabled(True)
        self.pool_button.setEnabled(True)

    def _on_failed(self, error: object) -> None:
        self._idle()
        self.tabs.setTabEnabled(1, True)
        message = error.message if isinstance(error, TandemError) else "The round failed."
        alerts.warning(self, message)

    def _on_round(self, blind: object) -> None:
        self._idle()
        if not isinstance(blind, BlindRound):
            return
        self.pending = blind
        self.left.show_answer(blind.left_text, blind.left_failed)
        self.right.show_answer(blind.right_text, blind.right_failed)
        for button in self.vote_buttons.values():
            button.setEnabled(True)
        self.start_button.setEnabled(False)

    # ----- the vote

    def vote(self, vote: str) -> None:
        if self.pending is None or self.arena is None:
            return
        try:
            reveal = self.arena.vote(self.pending.id, vote)
        except TandemError as exc:
            alerts.warning(self, exc.message)
            return
        self.pending = None
        self.revealed = reveal
        for button in self.vote_buttons.values():
            button.setEnabled(False)
        self.start_button.setEnabled(True)
        lines = reveal.lines()
        show_plain(self.left.reveal, lines[1].removeprefix("Left: "))
        show_plain(self.right.reveal, lines[2].removeprefix("Right: "))
        alerts.info(self, lines[0])
        self.tabs.setTabEnabled(1, True)
        self.refresh_board()

    def refresh_board(self) -> None:
        if self.pending is None and self.arena is not None:
            self.board.show_board(self.arena.board())

    def _on_tab(self, index: int) -> None:
        if index == 1:
            if self.arena is None:
                self._arena()
            self.refresh_board()

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        if self._cancel is not None:
            self._cancel.cancel()
        super().closeEvent(event)  # type: ignore[arg-type]
