"""One conversation column: its view, its service, and how events change the view."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.events import Delta, Event, Failed, Finished, Retrying, Started
from app.core.messages import MessageStatus, Role
from app.core.pricing import format_usd
from app.core.stats import AnswerStats
from app.services.chat import ChatService, ConversationMessage
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.sources import show_sources
from app.ui.chat.view import ChatView
from app.ui.widgets.plain import escape, show_markup, show_plain


class ChatPane(QWidget):
    """Signals:
    retry_requested(str): the user clicked Retry under a failed answer.
    """

    retry_requested = Signal(str)

    def __init__(self, service: ChatService, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.title = QLabel(title)
        self.title.setObjectName("paneTitle")
        self.title.setAccessibleName(f"{title} totals")
        self.view = ChatView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.reply: MessageWidget | None = None
        self.question: MessageWidget | None = None
        self.sources: object = None  # the sources under the last answer, if it used documents
        # The answer as the service holds it, when its widget was rebuilt mid-stream.
        self._live_message: ConversationMessage | None = None
        self.sent_text = ""
        self._before = 0  # messages in the conversation before this exchange
        self._name = title
        self.update_totals()

    def start_exchange(self, text: str, before: int | None = None) -> MessageWidget:
        """`before`: how many messages the path holds above the new one (by default, all
        those shown: an edit starts higher up)."""
        self.sent_text = text
        self._before = len(self.service.conversation.messages) if before is None else before
        self.question = self.view.add_message("user", "You", text)
        name = self.service.backend.name if self.service.backend else "model"
        self.reply = self.view.add_message("assistant", name)
        self.view.begin_stream(self.reply)
        self._live_message = None
        return self.reply

    def start_answer(self, name: str, before: int) -> MessageWidget:
        """A new answer to the question last on screen (a regeneration); `before` is how
        many messages the path holds above it."""
        self._before = before
        self.question = self.view.messages[-1] if self.view.messages else None
        self.reply = self.view.add_message("assistant", name)
        self.view.begin_stream(self.reply)
        self._live_message = None
        return self.reply

    def _mark_saved(self) -> None:
        """The answer and its question get their ids (their actions and versions appear)."""
        path = self.service.conversation.messages
        if self.reply is None or len(path) <= self._before or path[-1].role is not Role.ASSISTANT:
            return
        self.reply.set_message_id(path[-1].id, self.service.version_of(path[-1].id))
        if self.question is not None and len(path) >= 2:
            self.question.set_message_id(path[-2].id, self.service.version_of(path[-2].id))

    def follow(self, reply: MessageWidget, message: ConversationMessage) -> None:
        """Go on showing an answer that is still streaming in `reply` (a reopened
        conversation): its text is the service's, so nothing is missed or doubled."""
        self.reply = reply
        self._live_message = message
        reply.text = message.content
        self.view.begin_stream(reply)

    def apply(self, event: Event) -> None:
        reply = self.reply
        if reply is None:
            return
        match event:
            case Started(model=model):
                reply.set_title(model)
            case Delta(text=text) if event.reasoning:
                reply.append_reasoning(text)
            case Delta(text=text):
                if self._live_message is not None:
                    reply.text = self._live_message.content
                else:
                    reply.append(text)
            case Retrying(attempt=n, max_attempts=most, wait_s=wait, reason=why):
                reply.set_title(f"{reply.header.text()}  (retry {n}/{most} in {wait:.0f} s)")
                show_plain(reply.error_label, why)
                reply.error_label.show()
            case Finished(stats=stats):
                if self._live_message is not None:
                    reply.text = self._live_message.content
                self.view.end_stream()
                reply.error_label.hide()
                message = self._message()
                reply.finish(
                    self._status(MessageStatus.COMPLETE),
                    stats,
                    message.run_info if message is not None else None,
                    self._price_note(stats),
                )
                self._mark_saved()
                self.sources = show_sources(reply, message.sources if message else [])
                self.update_totals()
            case Failed(error=error):
                self.view.end_stream()
                fallback = MessageStatus.INCOMPLETE if reply.text else MessageStatus.ERROR
                reply.fail(error.message, self._status(fallback))
                self._mark_saved()
                text = self.sent_text
                show_markup(
                    reply.error_label,
                    f"{escape(reply.error_label.text())} <a href='retry'>Retry</a>",
                )
                reply.error_label.setTextInteractionFlags(
                    Qt.TextInteractionFlag.TextBrowserInteraction
                )
                reply.error_label.linkActivated.connect(lambda _l: self.retry_requested.emit(text))

    def _message(self) -> ConversationMessage | None:
        messages = self.service.conversation.messages
        if len(messages) > self._before and messages[-1].role is Role.ASSISTANT:
            return messages[-1]
        return None

    def _price_note(self, stats: AnswerStats) -> str:
        """Where the price came from: the price table's source and date."""
        reference = self.service.reference
        if reference is None:
            return ""
        if stats.backend == "local":
            provider, _, model = reference.model_spec.partition(":")
        else:
            config = getattr(self.service.backend, "provider", None)
            if config is None:
                return ""
            provider = config.price_key
            model = getattr(self.service.backend, "model", stats.model)
        price = reference.prices.lookup(provider, model)
        if price is None:
            return ""
        parts = [p for p in (price.source, price.date) if p]
        return "price table" + (": " + ", ".join(parts) if parts else "")

    def _status(self, fallback: MessageStatus) -> MessageStatus:
        """The answer's status as the service decided it (the fallback when the message
        never reached the conversation, as when saving it failed)."""
        messages = self.service.conversation.messages
        if len(messages) > self._before and messages[-1].role is Role.ASSISTANT:
            return messages[-1].status
        return fallback

    def end(self) -> None:
        self.view.end_stream()
        self._live_message = None

    def clear(self) -> None:
        self.service.new_conversation()
        self.view.clear()
        self.reply = None
        self.update_totals()

    def set_name(self, name: str) -> None:
        self._name = name
        self.update_totals()

    def update_totals(self) -> None:
        """Show the totals of the service's conversation (also after opening a stored one)."""
        totals = self.service.totals()
        show_markup(
            self.title,
            f"<b>{escape(self._name)}</b> · spent {format_usd(totals.spent_usd)} · "
            f"saved {format_usd(totals.saved_usd)} by staying local",
        )
