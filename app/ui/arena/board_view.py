"""The personal scoreboard: the one sentence, then a row per model."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.core.units import usd
from app.services.arena import Board
from app.ui.widgets.plain import plain_label, show_plain

COLUMNS = ("Model", "Rating", "95 % interval", "Rounds", "Win rate", "Time to first token",
           "Tokens/s", "Cost per round", "Cost per win", "On this device")  # fmt: skip


def _money(value: float | None) -> str:
    return "price unknown" if value is None else usd(value)


class BoardView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sentence: QLabel = plain_label()
        self.sentence.setWordWrap(True)
        self.sentence.setAccessibleName("Board summary")
        font = self.sentence.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.sentence.setFont(font)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Ratings per model")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.note = plain_label(
            "Ratings: Bradley-Terry over all votes (a tie or “both bad” counts half), "
            "1000 = an even match for a virtual reference; intervals from 200 bootstrap "
            "resamples of the rounds."
        )
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sentence)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    def clear(self, why: str) -> None:
        """Show nothing of the board (while a round waits for its vote)."""
        show_plain(self.sentence, why)
        self.table.setRowCount(0)

    def show_board(self, board: Board) -> None:
        show_plain(self.sentence, board.sentence)
        self.table.setRowCount(len(board.rows))
        for n, r in enumerate(board.rows):
            ttft = r.mean_time_to_first_token_s
            tps = r.mean_tokens_per_s
            values = (
                r.model, f"{r.rating:.0f}", f"{r.low:.0f} – {r.high:.0f}", str(r.rounds),
                f"{r.win_rate:.0%}", "" if ttft is None else f"{ttft:.2f} s",
                "" if tps is None else f"{tps:.1f}", _money(r.cost_per_round_usd),
                _money(r.cost_per_win_usd) if r.wins else "no win yet",
                f"{r.share_on_device:.0%}",
            )  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(n, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
