"""The conversation service: the one place a message goes through, for GUI and CLI alike.

It keeps the conversation, runs a backend, and hands every event to its caller while
keeping the answer's text, status and stats up to date. A failed answer keeps the
text that already arrived.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.backends.base import Backend
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.core.stats import AnswerStats, FinishReason

logger = logging.getLogger(__name__)

_ids = itertools.count(1)


@dataclass(slots=True)
class ConversationMessage:
    """One message as the conversation holds it; an answer fills in while it streams."""

    role: Role
    content: str
    status: MessageStatus = MessageStatus.COMPLETE
    model: str | None = None
    stats: AnswerStats | None = None
    error: str | None = None
    error_kind: str | None = None
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(slots=True)
class Conversation:
    messages: list[ConversationMessage] = field(default_factory=list)

    def context(self) -> list[ChatMessage]:
        """What the model sees: every exchange except those that produced nothing."""
        kept: list[ChatMessage] = []
        for i, msg in enumerate(self.messages):
            if msg.role is Role.USER:
                answer = self.messages[i + 1] if i + 1 < len(self.messages) else None
                if answer is not None and answer.status is MessageStatus.ERROR:
                    continue
                kept.append(ChatMessage(Role.USER, msg.content))
            elif msg.role is Role.ASSISTANT and msg.status not in (
                MessageStatus.ERROR,
                MessageStatus.STREAMING,
            ):
                kept.append(ChatMessage(Role.ASSISTANT, msg.content))
        return kept


class ChatService:
    """Runs one conversation against a backend."""

    def __init__(self, backend: Backend | None, params: GenerationParams | None = None) -> None:
        self.backend = backend
        self.params = params or GenerationParams()
        self.conversation = Conversation()

    def new_conversation(self) -> None:
        self.conversation = Conversation()

    def send(self, text: str, cancel: CancelToken) -> Iterator[Event]:
        """Add the user's message, then stream the answer."""
        if self.backend is None:
            raise RuntimeError("no backend chosen")
        self.conversation.messages.append(ConversationMessage(Role.USER, text))
        context = self.conversation.context()
        reply = ConversationMessage(
            Role.ASSISTANT, "", MessageStatus.STREAMING, model=self.backend.name
        )
        self.conversation.messages.append(reply)
        try:
            for event in self.backend.stream(context, self.params, cancel):
                self._apply(reply, event)
                yield event
        finally:
            if reply.status is MessageStatus.STREAMING:
                reply.status = MessageStatus.STOPPED if reply.content else MessageStatus.ERROR

    @staticmethod
    def _apply(reply: ConversationMessage, event: Event) -> None:
        match event:
            case Started(model=model):
                reply.model = model
            case Delta(text=text):
                reply.content += text
            case Finished(stats=stats):
                reply.stats = stats
                reply.status = (
                    MessageStatus.STOPPED
                    if stats.finish_reason is FinishReason.CANCELLED
                    else MessageStatus.COMPLETE
                )
            case Failed(error=error):
                reply.error = error.message
                reply.error_kind = error.kind
                reply.status = MessageStatus.INCOMPLETE if reply.content else MessageStatus.ERROR
                logger.warning("answer failed: %s", error.message)
