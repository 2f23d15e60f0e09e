"""What a new conversation shows before the first message: what Tandem is, and three
prompts to start from."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

EXAMPLES = (
    "Explain how a heat pump works, in three short paragraphs.",
    "Write a polite email asking my landlord to fix the heating.",
    "Give me five ideas for a vegetarian dinner with lentils.",
)


class EmptyState(QWidget):
    """Signals:
    example_chosen(str): the person clicked one of the example prompts.
    """

    example_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Start a conversation")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 48, 8, 8)
        layout.setSpacing(10)
        title = QLabel("Tandem")
        title.setObjectName("emptyTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        about = QLabel(
            "Chat with a model that runs on this computer, or hold it against a cloud "
            "model side by side. Every answer shows how fast it came, where your words "
            "went, and what it cost."
        )
        about.setWordWrap(True)
        about.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        about.setObjectName("emptyAbout")
        hint = QLabel("Try one of these:")
        hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addSpacing(12)
        layout.addWidget(hint)
        self.buttons: list[QPushButton] = []
        for text in EXAMPLES:
            button = QPushButton(text)
            button.setObjectName("examplePrompt")
            button.setAccessibleName(f"Example prompt: {text}")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _c=False, t=text: self.example_chosen.emit(t))
            layout.addWidget(button)
            self.buttons.append(button)
        self.setStyleSheet(
            "QPushButton#examplePrompt { text-align: left; padding: 10px 14px; "
            "border-radius: 10px; border: 1px solid palette(mid); background: palette(base); }"
            "QPushButton#examplePrompt:hover, QPushButton#examplePrompt:focus "
            "{ border: 1px solid palette(highlight); }"
        )
