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
from typing import Any

from app.backends.base import Backend
from app.core import sensitive
from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Requested, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.core.pricing import PriceTable
from app.core.stats import AnswerStats, FinishReason
from app.store.history.store import HistoryStore, fallback_title
from app.store.ledger import Ledger

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
    run_info: dict[str, Any] | None = None  # how it was run: model file, quant, context…


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


@dataclass(frozen=True, slots=True)
class Totals:
    """What a conversation's answers cost, from their stored stats."""

    spent_usd: float = 0.0  # API cost of cloud answers (unknown prices count nothing)
    saved_usd: float = 0.0  # what local answers would have cost on the reference model


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
        history: HistoryStore | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.backend = backend
        self.params = params or GenerationParams()
        self.reference = reference
        self.history = history
        self.ledger = ledger
        self.conversation = Conversation()
        self.conversation_id: int | None = None

    def totals(self) -> Totals:
        """Money spent on cloud answers and saved by local ones, in this conversation."""
        spent = saved = 0.0
        for message in self.conversation.messages:
            stats = message.stats
            if stats is None:
                continue
            if stats.backend == "cloud" and stats.cost_usd:
                spent += stats.cost_usd
            if stats.backend == "local" and stats.cloud_equivalent_usd:
                saved += stats.cloud_equivalent_usd
        return Totals(spent, saved)

    def sensitive_findings(self, text: str) -> list[sensitive.Finding]:
        """What in the next request (system prompt, history and `text`) should not leave
        the device. Empty when the current backend keeps everything on this machine.
        """
        if self.backend is None or not self.backend.leaves_device:
            return []
        sent = [self.params.system_prompt, *(m.content for m in self.conversation.context())]
        context = "\n".join([*sent, text])
        return sensitive.scan(context)

    def new_conversation(self) -> None:
        self.conversation = Conversation()
        self.conversation_id = None

    def open_conversation(self, conversation_id: int) -> None:
        """Continue a stored conversation: its messages become the context."""
        if self.history is None:
            raise RuntimeError("no history to open from")
        stored = self.history.get_conversation(conversation_id)
        messages = []
        for m in stored.messages:
            try:
                status = MessageStatus(m.status)
            except ValueError:
                status = MessageStatus.INCOMPLETE
            messages.append(
                ConversationMessage(
                    role=Role(m.role),
                    content=m.content,
                    status=status,
                    model=m.model,
                    stats=AnswerStats.from_json(m.stats) if m.stats else None,
                    error=m.error,
                    id=m.id,
                    run_info=m.run_info,
                )
            )
        self.conversation = Conversation(messages)
        self.conversation_id = conversation_id

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
        backend = self.backend
        try:
            reply_id = self._save_user_message(text, backend)  # before anything is sent
        except TandemError as exc:
            yield Failed(exc)  # nothing was sent; the caller keeps the text
            return
        self.conversation.messages.append(ConversationMessage(Role.USER, text))
        context = self.conversation.context()
        if findings and on_sensitive is OnSensitive.REDACT:
            context = [ChatMessage(m.role, sensitive.redact(m.content)) for m in context]
        reply = ConversationMessage(Role.ASSISTANT, "", MessageStatus.STREAMING, model=backend.name)
        self.conversation.messages.append(reply)
        logger.info("answer %s from %s: started", reply_id, backend.name)
        try:
            for event in self._events(backend, context, cancel):
                if isinstance(event, Requested):
                    if self.ledger is not None:
                        self.ledger.append(event.record())
                    yield event
                    continue
                local = isinstance(event, Finished) and event.stats.backend == "local"
                if local and self.reference is not None:
                    assert isinstance(event, Finished)
                    event = Finished(self.reference.equivalent(event.stats))
                self._apply(reply, event)
                if isinstance(event, Finished):
                    reply.run_info = backend.run_info(self.params)
                if self.history is not None and reply_id is not None:
                    if isinstance(event, Delta):
                        self.history.update_streaming(reply_id, reply.content)
                    elif isinstance(event, Finished):
                        self._save_reply(reply_id, reply, reply.run_info)
                    elif isinstance(event, Failed):
                        self._save_reply(reply_id, reply)
                yield event
        finally:
            if reply.status is MessageStatus.STREAMING:
                reply.status = MessageStatus.STOPPED if reply.content else MessageStatus.ERROR
                if self.history is not None and reply_id is not None:
                    self._save_reply(reply_id, reply)

    def _events(
        self, backend: Backend, context: list[ChatMessage], cancel: CancelToken
    ) -> Iterator[Event]:
        """The backend's events; a backend that breaks its contract (raises instead of
        yielding Failed) ends the answer with Failed too, so it never stays streaming."""
        try:
            yield from backend.stream(context, self.params, cancel)
        except Exception as exc:  # reported to the person below, logged in full here
            logger.exception("%s failed while answering", backend.name)
            yield Failed(
                TandemError(
                    f"{backend.name} failed unexpectedly ({type(exc).__name__}). The partial "
                    "answer is kept; the details are in the log."
                )
            )

    def _save_user_message(self, text: str, backend: Backend) -> int | None:
        """Store the user's message and an empty answer; the answer's id, or None."""
        if self.history is None:
            return None
        first = self.conversation_id is None
        if first:
            self.conversation_id = self.history.create_conversation(
                fallback_title(text), default_model=backend.name
            )
        assert self.conversation_id is not None
        self.history.add_message(self.conversation_id, "user", text)
        host = getattr(getattr(backend, "provider", None), "host", None)
        return self.history.add_message(
            self.conversation_id,
            "assistant",
            "",
            model=backend.name,
            backend="local" if not hasattr(backend, "provider") else "cloud",
            host=host,
            status="streaming",
            run_info=backend.run_info(self.params),
        )

    def _save_reply(
        self, reply_id: int, reply: ConversationMessage, run_info: dict[str, object] | None = None
    ) -> None:
        assert self.history is not None
        try:
            self.history.finish_message(
                reply_id,
                reply.content,
                str(reply.status),
                reply.stats.to_json() if reply.stats else None,
                reply.error,
                run_info=run_info,
            )
        except TandemError as exc:
            logger.error("could not save the answer: %s", exc.message)
            reply.error = (reply.error + " " if reply.error else "") + exc.message

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
