"""The conversation service: the one place a message goes through, for GUI and CLI alike.

It keeps the conversation, runs a backend, and hands every event to its caller while
keeping the answer's text, status and stats up to date. A failed answer keeps the
text that already arrived.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.backends.base import Backend
from app.core import sensitive
from app.core.errors import SensitiveContent
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.core.pricing import PriceTable
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


class OnSensitive(StrEnum):
    """What to do when text bound for a cloud host holds secrets or personal data."""

    ASK = "ask"  # the caller asks the person, then sends again with REDACT or SEND
    REDACT = "redact"
    SEND = "send"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class CostReference:
    """The cloud model a local answer's tokens are priced on ("would have cost")."""

    prices: PriceTable
    model_spec: str = "openai:gpt-4o"

    def equivalent(self, stats: AnswerStats) -> AnswerStats:
        provider, _, model = self.model_spec.partition(":")
        cost = self.prices.cost_usd(provider, model, stats.prompt_tokens, stats.completion_tokens)
        if cost is None:
            return stats
        return replace(stats, cloud_equivalent_usd=cost, cloud_equivalent_model=model)


class ChatService:
    """Runs one conversation against a backend."""

    def __init__(
        self,
        backend: Backend | None,
        params: GenerationParams | None = None,
        *,
        reference: CostReference | None = None,
    ) -> None:
        self.backend = backend
        self.params = params or GenerationParams()
        self.reference = reference
        self.conversation = Conversation()

    def sensitive_findings(self, text: str) -> list[sensitive.Finding]:
        """What in the next request (history and `text`) should not leave the device.

        Empty when the current backend keeps everything on this machine.
        """
        if self.backend is None or not self.backend.leaves_device:
            return []
        context = "\n".join([m.content for m in self.conversation.context()] + [text])
        return sensitive.scan(context)

    def new_conversation(self) -> None:
        self.conversation = Conversation()

    def check_sensitive(self, text: str, on_sensitive: OnSensitive) -> list[sensitive.Finding]:
        """Raise SensitiveContent when the policy is to ask or refuse and something is found."""
        findings = self.sensitive_findings(text)
        if findings and on_sensitive in (OnSensitive.ASK, OnSensitive.REFUSE):
            name = self.backend.name if self.backend is not None else "the cloud"
            raise SensitiveContent(
                f"This message would send {sensitive.describe(findings)} to {name}. "
                "Send it anyway, send it with those parts removed, or change it."
            )
        return findings

    def send(
        self, text: str, cancel: CancelToken, on_sensitive: OnSensitive = OnSensitive.SEND
    ) -> Iterator[Event]:
        """Add the user's message, then stream the answer.

        Before anything goes to a cloud host, the whole request is scanned; with ASK
        or REFUSE a finding raises SensitiveContent before the message is added.
        """
        if self.backend is None:
            raise RuntimeError("no backend chosen")
        findings = self.check_sensitive(text, on_sensitive)
        self.conversation.messages.append(ConversationMessage(Role.USER, text))
        context = self.conversation.context()
        if findings and on_sensitive is OnSensitive.REDACT:
            context = [ChatMessage(m.role, sensitive.redact(m.content)) for m in context]
        reply = ConversationMessage(
            Role.ASSISTANT, "", MessageStatus.STREAMING, model=self.backend.name
        )
        self.conversation.messages.append(reply)
        try:
            for event in self.backend.stream(context, self.params, cancel):
                if isinstance(event, Finished) and self.reference is not None:
                    if event.stats.backend == "local":
                        event = Finished(self.reference.equivalent(event.stats))
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
