"""One message in the conversation: who, the text (Markdown), and under an answer its
three facts as chips; places for more blocks above the text and below the chips."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QPalette,
    QResizeEvent,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.messages import MessageStatus
from app.core.stats import AnswerStats
from app.ui import alerts
from app.ui.chat.answer_facts import FactChips
from app.ui.chat.markdown import COPY_SCHEME, copy_target, render_markdown, style_sheet
from app.ui.chat.message_actions import MessageActions, copy_message
from app.ui.chat.reasoning_block import ReasoningBlock
from app.ui.chat.versions import VersionSwitch
from app.ui.theme import is_dark, text_style
from app.ui.widgets.plain import plain_label, show_markup, show_plain

# Longer messages show a preview first: laying out a megabyte of text takes seconds.
PREVIEW_CHARS = 20_000
# Qt lays out one line in time that grows faster than its length (a megabyte without a
# space took 12 s), so plain text is shown in lines of at most this many characters.
LINE_CHARS = 2_000


def chunk_lines(text: str, width: int = LINE_CHARS) -> str:
    """`text` with every line longer than `width` broken into shown lines of at most
    `width` characters, after a space where one is near the end; no character is lost."""
    if len(text) <= width:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", width * 3 // 4, width) + 1 or width
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return "\n".join(out)


_css_cache: dict[int, str] = {}


def palette_css(palette: QPalette) -> str:
    """The message style sheet in `palette`'s colours (built once per palette)."""
    key = palette.cacheKey()
    css = _css_cache.get(key)
    if css is None:
        css = _css_cache[key] = _build_palette_css(palette)
    return css


def _build_palette_css(palette: QPalette) -> str:
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    code_bg = QColor(
        round(base.red() * 0.92 + text.red() * 0.08),
        round(base.green() * 0.92 + text.green() * 0.08),
        round(base.blue() * 0.92 + text.blue() * 0.08),
    )
    return style_sheet(
        palette.color(QPalette.ColorRole.Text).name(),
        code_bg.name(),
        palette.color(QPalette.ColorRole.Link).name(),
        palette.color(QPalette.ColorRole.PlaceholderText).name(),
    )


class MessageText(QTextBrowser):
    """A read-only rich-text view that grows to fit its text and never loads a resource.

    Signals:
        link_hovered(str): the real URL under the mouse ("" when it leaves).
        link_activated(QUrl): a link was clicked; the window decides what to do.
    """

    link_hovered = Signal(str)
    link_activated = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A line without spaces (a hash, a URL, a 20,000-character paste) wraps anywhere.
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.highlighted.connect(self._on_highlighted)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self._code_blocks: tuple[str, ...] = ()
        self._copy_token = ""
        self._css = ""
        self._html = ""
        self._copied_html = ""
        self._text_width = -1

    def loadResource(self, _type: int, _name: QUrl | str) -> object:  # noqa: N802 - Qt override
        return None  # model output never loads anything, local or remote

    def set_markdown(self, text: str) -> None:
        rendered = render_markdown(text)
        self._code_blocks = rendered.code_blocks
        self._copy_token = rendered.copy_token
        css = palette_css(QGuiApplication.palette())
        if css != self._css:  # setting it again costs a style re-parse on every tick
            self.document().setDefaultStyleSheet(css)
            self._css = css
        self._html = rendered.html
        self.setHtml(rendered.html)

    def set_plain(self, text: str) -> None:
        self._code_blocks = ()
        self._copy_token = ""
        self._html = ""
        self.setPlainText(chunk_lines(text))

    def highlight(self, words: list[str]) -> int:
        """Mark every occurrence of `words` (search terms) in the text; how many."""
        selections: list[QTextEdit.ExtraSelection] = []
        marked = QTextCharFormat()
        marked.setBackground(QColor("#7a5c00" if is_dark() else "#ffe27a"))
        marked.setForeground(QColor("#ffffff" if is_dark() else "#000000"))
        document = self.document()
        for word in words:
            cursor = QTextCursor(document)
            while True:
                cursor = document.find(word, cursor, QTextDocument.FindFlag(0))
                if cursor.isNull():
                    break
                selection = QTextEdit.ExtraSelection()
                selection.cursor = cursor
                selection.format = marked
                selections.append(selection)
        self.setExtraSelections(selections)
        return len(selections)

    def first_highlight_y(self) -> int | None:
        selections = self.extraSelections()
        if not selections:
            return None
        first = selections[0]
        cursor = first.cursor
        return self.cursorRect(cursor).top()

    def code_block(self, index: int) -> str:
        return self._code_blocks[index]

    def _on_highlighted(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:  # our own link: say what it does, not its address
            self.link_hovered.emit("")
            alerts.info(self, "Copy this code block to the clipboard", 3000)
            return
        self.link_hovered.emit(url.toString())

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == COPY_SCHEME:  # ours only; a forged or stale one does nothing
            index = copy_target(url.toString(), self._copy_token, len(self._code_blocks))
            if index is not None:
                QGuiApplication.clipboard().setText(self._code_blocks[index])
                self._show_copied(url.toString())
            return
        self.link_activated.emit(url)

    def _show_copied(self, address: str) -> None:
        """The Copy link reads "Copied" for a moment, and the status bar says so."""
        alerts.info(self, "Copied to the clipboard", 3000)
        html = self._html
        link = f'href="{address}">Copy</a>'
        if html and link in html:
            self.setHtml(html.replace(link, f'href="{address}">Copied ✓</a>'))
            self._copied_html = html
            QTimer.singleShot(1500, self._end_copied)  # a slot: never runs on a dead widget

    def _end_copied(self) -> None:
        if self._html == self._copied_html:  # unless the text changed meanwhile
            self.setHtml(self._html)

    def _fit_height(self, size: object = None) -> None:
        height = int(self.document().size().height()) + 4
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().height()
        if self.height() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        width = self.viewport().width()
        if width != self._text_width:  # a height change alone needs no new layout
            self._text_width = width
            self.document().setTextWidth(width)
        self._fit_height()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, int(self.document().size().height()) + 4)


class MessageWidget(QFrame):
    """A user message or an answer; an answer fills in while it streams.

    Signals:
        action_requested(str, int, str): an action on this message (see MessageActions),
            its stored id, and the action's argument.
    """

    action_requested = Signal(str, int, str)

    def __init__(self, role: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName(f"{role}Message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 14, 8)
        layout.setSpacing(3)
        self.header = plain_label(title)  # a model name is the provider's text
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.header.setAccessibleName("From")
        self.body = MessageText()
        self.body.setAccessibleName(f"{title} message")
        self.error_label = plain_label()
        self.error_label.setWordWrap(True)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setStyleSheet(text_style("error"))
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.stats_label = plain_label()  # the facts in one line, for copy and screen readers
        self.stats_label.setObjectName("statsLabel")
        self.stats_label.setAccessibleName("Answer statistics")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats_label.setWordWrap(True)
        self.stats_label.hide()
        self._chips: FactChips | None = None  # made for the first stats (not for a question)
        # Where other blocks of an answer go: above the text (reasoning), and below the
        # chips (sources, the version switch). Use add_block.
        self.blocks_above = QVBoxLayout()
        self.blocks_below = QVBoxLayout()
        for blocks in (self.blocks_above, self.blocks_below):
            blocks.setContentsMargins(0, 0, 0, 0)
            blocks.setSpacing(4)
        self.more_label = QLabel()
        self.more_label.setAccessibleName("Long message")
        self.more_label.setTextFormat(Qt.TextFormat.RichText)
        self.more_label.linkActivated.connect(self._on_show_all)
        self.more_label.hide()
        self._show_all = False
        self.text = ""
        self.reasoning = ReasoningBlock()
        self.versions = VersionSwitch()
        self.action_row = MessageActions(role)
        self.action_row.requested.connect(self._on_action)
        self.action_row.copy_markdown.triggered.connect(
            lambda: copy_message(self.text, as_markdown=True)
        )
        self.action_row.copy_plain.triggered.connect(
            lambda: copy_message(self.text, as_markdown=False)
        )
        self.action_row.buttons["copy"].clicked.connect(
            lambda: copy_message(self.text, as_markdown=True)
        )
        self.versions.stepped.connect(lambda step: self._on_action("version", str(step)))
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.versions)
        footer.addWidget(self.action_row, 1)
        self.action_row.hide()  # until the message is saved and finished
        layout.addWidget(self.header)
        self.blocks_above.addWidget(self.reasoning)
        layout.addLayout(self.blocks_above)
        layout.addWidget(self.body)
        layout.addWidget(self.more_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.stats_label)
        self.blocks_below.addLayout(footer)
        layout.addLayout(self.blocks_below)
        self.stored_id = 0
        self.status = MessageStatus.STREAMING if role == "assistant" else MessageStatus.COMPLETE
        self._rendered_len = -1
        self._style_colours()

    def _style_colours(self) -> None:
        palette = QGuiApplication.palette()
        base = palette.color(QPalette.ColorRole.Base)
        accent = palette.color(QPalette.ColorRole.Highlight)
        mid = palette.color(QPalette.ColorRole.Mid)
        if self.role == "user":  # the person's words: a tinted card
            tint = QColor(
                round(base.red() * 0.88 + accent.red() * 0.12),
                round(base.green() * 0.88 + accent.green() * 0.12),
                round(base.blue() * 0.88 + accent.blue() * 0.12),
            )
            look = f"background: {tint.name()}; border: none; border-radius: 10px;"
        elif self.role == "assistant":  # the answer: the page itself, a rule on its left
            look = (
                f"background: {base.name()}; border: none; "
                f"border-left: 3px solid {accent.name()}; border-radius: 0px;"
            )
        else:  # a notice from Tandem
            look = (
                f"background: {base.name()}; border: 1px dashed {mid.name()}; border-radius: 8px;"
            )
        self.setStyleSheet(f"#{self.objectName()} {{ {look} }}")
        muted = palette.color(QPalette.ColorRole.PlaceholderText).name()
        self.header.setStyleSheet(f"color: {muted}; font-size: 11px;")
        self.stats_label.setStyleSheet(f"color: {muted}; font-size: small;")
        if self._chips is not None:
            self._chips.restyle()

    @property
    def chips(self) -> FactChips:
        """The answer's speed, privacy and cost chips, under its text."""
        if self._chips is None:
            self._chips = FactChips()
            self._chips.hide()
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(layout.indexOf(self.stats_label), self._chips)
        return self._chips

    def add_block(self, widget: QWidget, *, above: bool) -> None:
        """Give the answer another block: above its text (reasoning) or below its facts
        (sources, versions)."""
        (self.blocks_above if above else self.blocks_below).addWidget(widget)

    def restyle(self) -> None:
        """Take the application's current colours (after a theme change)."""
        self._style_colours()
        if self._rendered_len >= 0:
            self.render_text()

    def set_text(self, text: str) -> None:
        self.text = text
        self.render_text()

    def append(self, text: str) -> None:
        """Cheap: only records the text; `render` shows it on the view's next tick."""
        self.text += text

    def append_reasoning(self, text: str) -> None:
        self.reasoning.append(text)

    def set_message_id(self, message_id: int, version: tuple[int, int] = (1, 1)) -> None:
        """The message as the conversation knows it: its actions and version switch appear."""
        self.stored_id = message_id
        self.versions.set_version(*version)
        self.action_row.setVisible(message_id > 0 and self.role in ("user", "assistant"))

    def _on_action(self, action: str, argument: str) -> None:
        self.action_requested.emit(action, self.stored_id, argument)

    @property
    def needs_render(self) -> bool:
        return self._rendered_len != len(self.text)

    def render_text(self) -> None:
        text = self.text
        long = len(text) > PREVIEW_CHARS and not self._show_all
        shown = text[:PREVIEW_CHARS] if long else text
        if self.role == "user" or len(shown) > PREVIEW_CHARS:
            self.body.set_plain(shown)
        else:
            self.body.set_markdown(shown)
        if long:
            show_markup(
                self.more_label,
                f"Showing the first {PREVIEW_CHARS:,} of {len(text):,} characters; the whole "
                "text is kept. <a href='all'>Show all</a>",
            )
        self.more_label.setVisible(long)
        self._rendered_len = len(text)

    def _on_show_all(self, _link: str) -> None:
        self._show_all = True
        self.render_text()

    def set_title(self, title: str) -> None:
        self.header.setText(title)

    def finish(
        self,
        status: MessageStatus,
        stats: AnswerStats | None,
        run_info: dict[str, Any] | None = None,
        price_note: str = "",
    ) -> None:
        self.status = status
        self.reasoning.finish(stats.reasoning_s if stats is not None else None)
        if self.needs_render:
            self.render_text()
        if stats is not None:
            self.stats_label.setText(stats.summary_line())
            self.chips.show_stats(stats, run_info, price_note)
            self.chips.setAccessibleDescription(stats.summary_line())
            self.chips.show()
        if status is MessageStatus.STOPPED:
            self.header.setText(self.header.text() + "  (stopped)")
        elif status is MessageStatus.INTERRUPTED:
            self.header.setText(self.header.text() + "  (interrupted)")

    def fail(self, message: str, status: MessageStatus) -> None:
        self.status = status
        self.reasoning.finish(None)
        if self.needs_render:
            self.render_text()
        prefix = "Answer cut short: " if status is MessageStatus.INCOMPLETE else ""
        show_plain(self.error_label, prefix + message)
        self.error_label.show()
        if status is MessageStatus.INCOMPLETE:
            self.header.setText(self.header.text() + "  (incomplete)")
