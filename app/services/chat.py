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
from typing import TYPE_CHECKING, Any

from app.backends.base import Backend
from app.core import sensitive, tree
from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken, Delta, Event, Failed, Finished, Requested, Started
from app.core.messages import ChatMessage, GenerationParams, MessageStatus, Role
from app.core.pricing import PriceTable
from app.core.reasoning import DeltaKind
from app.core.stats import AnswerStats, FinishReason
from app.store.history.records import DeletedMessages
from app.store.history.store import HistoryStore, fallback_title
from app.store.ledger import Ledger

if TYPE_CHECKING:
    from app.services.documents import DocumentContext
    from app.services.usage import BudgetCheck, MonthlyBudget

logger = logging.getLogger(__name__)

_ids = itertools.count(1)


@dataclass(slots=True)
class ConversationMessage:
    """One message as the conversation holds it; an answer fills in while it streams.
    `reasoning` is the model's thinking: shown apart, never sent back as context."""

    role: Role
    content: str
    status: MessageStatus = MessageStatus.COMPLETE
    model: str | None = None
    stats: AnswerStats | None = None
    error: str | None = None
    error_kind: str | None = None
    id: int = field(default_factory=lambda: next(_ids))
    parent_id: int | None = None
    reasoning: str = ""
    sources: list[dict[str, object]] = field(default_factory=list)  # documents it used
    run_info: dict[str, Any] | None = None  # how it was run: model file, quant, context…


@dataclass(slots=True)
class Conversation:
    """Every message of every branch (`nodes`), and the leaf of the path shown."""

    nodes: list[ConversationMessage] = field(default_factory=list)
    leaf_id: int | None = None

    @property
    def parents(self) -> dict[int, int | None]:
        return {m.id: m.parent_id for m in self.nodes}

    @property
    def messages(self) -> list[ConversationMessage]:
        """The path shown, first message to last."""
        return self.path_to(self.leaf_id)

    def path_to(self, message_id: int | None) -> list[ConversationMessage]:
        by_id = {m.id: m for m in self.nodes}
        return [by_id[i] for i in tree.path_to(self.parents, message_id)]

    def get(self, message_id: int) -> ConversationMessage | None:
        return next((m for m in self.nodes if m.id == message_id), None)

    def add(self, message: ConversationMessage) -> None:
        """A new message becomes the end of the path shown."""
        self.nodes.append(message)
        self.leaf_id = message.id

    def versions(self, message_id: int) -> list[ConversationMessage]:
        """The message and its siblings (its versions), oldest first."""
        by_id = {m.id: m for m in self.nodes}
        return [by_id[i] for i in tree.versions(self.parents, message_id)]

    def context(self, upto: int | None = -1) -> list[ChatMessage]:
        """What the model sees: the path shown (or the path to `upto`), every exchange
        except those that produced nothing; answers without their reasoning."""
        path = self.messages if upto == -1 else self.path_to(upto)
        kept: list[ChatMessage] = []
        for i, msg in enumerate(path):
            if msg.role is Role.USER:
                answer = path[i + 1] if i + 1 < len(path) else None
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
class DeletedTurn:
    """What `ChatService.delete` took out; pass it to `undo_delete`."""

    messages: tuple[ConversationMessage, ...]
    leaf_id: int | None
    stored: DeletedMessages | None


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
    """Runs one conversation against a backend.

    A conversation is a tree: `send` continues the path shown, `regenerate` and
    `edit_and_resend` add a sibling version, and the other versions stay.
    """

    def __init__(
        self,
        backend: Backend | None,
        params: GenerationParams | None = None,
        *,
        reference: CostReference | None = None,
        history: HistoryStore | None = None,
        ledger: Ledger | None = None,
        budget: MonthlyBudget | None = None,
    ) -> None:
        self.backend = backend
        self.budget = budget
        self.params = params or GenerationParams()
        self.reference = reference
        self.history = history
        self.ledger = ledger
        self.conversation = Conversation()
        self.conversation_id: int | None = None

    def totals(self) -> Totals:
        """Money spent on cloud answers and saved by local ones, in this conversation
        (every version counts: each was paid for)."""
        spent = saved = 0.0
        for message in self.conversation.nodes:
            stats = message.stats
            if stats is None:
                continue
            if stats.backend == "cloud" and stats.cost_usd:
                spent += stats.cost_usd
            if stats.backend == "local" and stats.cloud_equivalent_usd:
                saved += stats.cloud_equivalent_usd
        return Totals(spent, saved)

    def sensitive_findings(
        self, text: str, *, after: int | None = -1, backend: Backend | None = None
    ) -> list[sensitive.Finding]:
        """What in the next request (system prompt, the path to `after`, and `text`)
        should not leave the device. Empty when the backend keeps everything here."""
        backend = backend or self.backend
        if backend is None or not backend.leaves_device:
            return []
        context = self.conversation.context(after)
        sent = [self.params.system_prompt, *(m.content for m in context)]
        return sensitive.scan("\n".join([*sent, text]))

    def new_conversation(self) -> None:
        self.conversation = Conversation()
        self.conversation_id = None

    def open_conversation(self, conversation_id: int, focus_id: int = 0) -> None:
        """Continue a stored conversation on the path it shows (or, with `focus_id`, on
        a path through that message, as when a search found it on another branch)."""
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
                    parent_id=m.parent_id,
                    reasoning=m.reasoning,
                    run_info=m.run_info,
                    sources=list((m.run_info or {}).get("sources") or []),
                )
            )
        parents = stored.parents
        leaf = tree.current_leaf(parents, stored.current_leaf_id)
        if focus_id in parents and focus_id not in tree.path_to(parents, leaf):
            leaf = tree.newest_leaf(parents, focus_id)
        self.conversation = Conversation(messages, leaf)
        self.conversation_id = conversation_id

    def check_sensitive(
        self,
        text: str,
        on_sensitive: OnSensitive,
        *,
        after: int | None = -1,
        backend: Backend | None = None,
    ) -> list[sensitive.Finding]:
        """Raise SensitiveContent when the policy is to ask or refuse and something is found."""
        findings = self.sensitive_findings(text, after=after, backend=backend)
        if findings and on_sensitive in (OnSensitive.ASK, OnSensitive.REFUSE):
            chosen = backend or self.backend
            name = chosen.name if chosen is not None else "the cloud"
            raise SensitiveContent(
                f"This message would send {sensitive.describe(findings)} to {name}. "
                "Send it anyway, send it with those parts removed, or change it."
            )
        return findings

    def over_budget(
        self, text: str, *, after: int | None = -1, backend: Backend | None = None
    ) -> BudgetCheck | None:
        """The budget check when sending `text` (after the message `after`, by default
        the end of the path shown) would take the month over its budget."""
        chosen = backend or self.backend
        if self.budget is None or chosen is None:
            return None
        messages = self.conversation.context(after)
        if text:
            messages = [*messages, ChatMessage(Role.USER, text)]
        return self.budget.check([chosen], messages, self.params)

    # ----- the turns

    def send(
        self,
        text: str,
        cancel: CancelToken,
        on_sensitive: OnSensitive = OnSensitive.SEND,
        *,
        over_budget: bool = False,
        documents: DocumentContext | None = None,
    ) -> Iterator[Event]:
        """Add the user's message at the end of the path shown, then stream the answer.

        Before anything goes to a cloud host, the whole request is scanned; with ASK
        or REFUSE a finding raises SensitiveContent before the message is added. An
        answer that would take the month over its budget fails with OverBudget, unless
        `over_budget` says the person chose to send it. `documents` (from
        DocumentsService.prepare) go with this message only; the answer's sources,
        ledger lines and privacy fact name them.
        """
        yield from self._turn(
            text,
            self.conversation.leaf_id,
            None,
            cancel,
            on_sensitive,
            over_budget=over_budget,
            documents=documents,
        )

    def edit_and_resend(
        self,
        message_id: int,
        text: str,
        cancel: CancelToken,
        on_sensitive: OnSensitive = OnSensitive.SEND,
    ) -> Iterator[Event]:
        """A new version of one of the user's messages, and its answer: a new branch
        from that point; the old branch stays."""
        original = self._message(message_id, Role.USER, "edited")
        yield from self._turn(text, original.parent_id, None, cancel, on_sensitive)

    def regenerate(
        self,
        cancel: CancelToken,
        message_id: int | None = None,
        backend: Backend | None = None,
        on_sensitive: OnSensitive = OnSensitive.SEND,
    ) -> Iterator[Event]:
        """A new version of an answer (by default the last one shown), from the same
        model or from `backend`; the old version stays, with its own facts."""
        question = self._question(message_id)
        yield from self._turn(None, question.id, backend, cancel, on_sensitive)

    def check_turn(
        self,
        text: str,
        on_sensitive: OnSensitive,
        *,
        edit_id: int | None = None,
        regenerate: bool = False,
        regenerate_id: int | None = None,
        backend: Backend | None = None,
    ) -> list[sensitive.Finding]:
        """`check_sensitive` for the request that a send, an edit (`edit_id`) or a
        regeneration would make, before it starts."""
        if regenerate:
            question = self._question(regenerate_id)
            return self.check_sensitive("", on_sensitive, after=question.id, backend=backend)
        if edit_id is not None:
            original = self._message(edit_id, Role.USER, "edited")
            return self.check_sensitive(
                text, on_sensitive, after=original.parent_id, backend=backend
            )
        return self.check_sensitive(text, on_sensitive, backend=backend)

    def answer_to_regenerate(self, message_id: int | None = None) -> ConversationMessage | None:
        """The answer a regeneration replaces (by default the last one shown), if any."""
        question = self._question(message_id)
        if message_id is not None:
            return self.conversation.get(message_id)
        last = self.conversation.messages[-1]
        return last if last.id != question.id else None

    def _question(self, answer_id: int | None) -> ConversationMessage:
        """The user message an answer (by default the last one shown) replied to."""
        if answer_id is None:
            path = self.conversation.messages
            if not path:
                raise TandemError("There is no answer to regenerate yet.")
            last = path[-1]
            question = (
                last if last.role is Role.USER else self.conversation.get(last.parent_id or 0)
            )
        else:
            answer = self._message(answer_id, Role.ASSISTANT, "regenerated")
            question = self.conversation.get(answer.parent_id or 0)
        if question is None or question.role is not Role.USER:
            raise TandemError("There is no question above this answer to ask again.")
        return question

    def _message(self, message_id: int, role: Role, done: str) -> ConversationMessage:
        found = self.conversation.get(message_id)
        if found is None:
            raise TandemError(f"Message {message_id} is not in this conversation.")
        if found.role is not role:
            whose = "your messages" if role is Role.USER else "answers"
            raise TandemError(f"Only {whose} can be {done}; message {message_id} is not one.")
        return found

    def _turn(
        self,
        text: str | None,
        parent_id: int | None,
        chosen: Backend | None,
        cancel: CancelToken,
        on_sensitive: OnSensitive,
        *,
        over_budget: bool = False,
        documents: DocumentContext | None = None,
    ) -> Iterator[Event]:
        """One exchange: a new user message under `parent_id` (or, with `text` None, a
        new answer to the user message `parent_id`), then the answer as it streams."""
        backend = chosen or self.backend
        if backend is None:
            raise RuntimeError("no backend chosen")
        prompt = text
        if text is not None and documents is not None and documents.passages:
            prompt = documents.prompt(text)
        findings = self.check_sensitive(
            prompt or "", on_sensitive, after=parent_id, backend=backend
        )
        budget = (
            None
            if over_budget
            else self.over_budget(prompt or "", after=parent_id, backend=backend)
        )
        if budget is not None:
            yield Failed(budget.error())  # nothing was sent; the caller keeps the text
            return
        try:
            question_id, reply_id = self._save_turn(text, parent_id, backend)
        except TandemError as exc:
            yield Failed(exc)  # nothing was sent; the caller keeps the text
            return
        if text is not None:
            question = ConversationMessage(Role.USER, text, parent_id=parent_id)
            if question_id is not None:
                question.id = question_id
            self.conversation.add(question)
            question_id = question.id
        else:
            question_id = parent_id
        context = self.conversation.context(question_id)
        if prompt is not text and prompt is not None:
            context[-1] = ChatMessage(Role.USER, prompt)
        if findings and on_sensitive is OnSensitive.REDACT:
            context = [ChatMessage(m.role, sensitive.redact(m.content)) for m in context]
        reply = ConversationMessage(
            Role.ASSISTANT, "", MessageStatus.STREAMING, model=backend.name, parent_id=question_id
        )
        if reply_id is not None:
            reply.id = reply_id
        if documents is not None:
            reply.sources = documents.sources()
        self.conversation.add(reply)
        logger.info("answer %s from %s: started", reply_id, backend.name)
        try:
            for event in self._events(backend, context, cancel):
                if isinstance(event, Requested):
                    if self.ledger is not None:
                        record = event.record()
                        if documents is not None and documents.passages:
                            record = replace(record, passages=documents.sent())
                        self.ledger.append(record)
                    yield event
                    continue
                local = isinstance(event, Finished) and event.stats.backend == "local"
                if local and self.reference is not None:
                    assert isinstance(event, Finished)
                    event = Finished(self.reference.equivalent(event.stats))
                if isinstance(event, Finished) and documents is not None:
                    fact = documents.privacy_fact(event.stats.privacy, text or "")
                    event = Finished(replace(event.stats, privacy=fact))
                self._apply(reply, event)
                if isinstance(event, Finished):
                    reply.run_info = backend.run_info(self.params)
                    if reply.sources:
                        reply.run_info = {**reply.run_info, "sources": reply.sources}
                if self.history is not None and reply_id is not None:
                    if isinstance(event, Delta):
                        self.history.update_streaming(reply_id, reply.content, reply.reasoning)
                    elif isinstance(event, Finished):
                        self._save_reply(reply_id, reply, reply.run_info)
                    elif isinstance(event, Failed):
                        self._save_reply(reply_id, reply)
                yield event
        finally:
            if reply.status is MessageStatus.STREAMING:
                said = reply.content or reply.reasoning
                reply.status = MessageStatus.STOPPED if said else MessageStatus.ERROR
                if self.history is not None and reply_id is not None:
                    self._save_reply(reply_id, reply)

    # ----- versions, delete, fork

    def version_of(self, message_id: int) -> tuple[int, int]:
        """(which version, of how many) a message is: the "2/3" of its switch."""
        ids = [m.id for m in self.conversation.versions(message_id)]
        return (ids.index(message_id) + 1, len(ids)) if message_id in ids else (0, 0)

    def show_version(self, message_id: int) -> None:
        """Show the path through `message_id` (its newest branch below), and remember it."""
        parents = self.conversation.parents
        if message_id not in parents:
            raise TandemError(f"Message {message_id} is not in this conversation.")
        self.conversation.leaf_id = tree.newest_leaf(parents, message_id)
        if self.history is not None and self.conversation_id is not None:
            self.history.set_current_leaf(self.conversation_id, self.conversation.leaf_id)

    def switch_version(self, message_id: int, step: int) -> int:
        """Show the version `step` places away from `message_id` (-1: the one before);
        returns the id of the version now shown."""
        ids = [m.id for m in self.conversation.versions(message_id)]
        if message_id not in ids:
            raise TandemError(f"Message {message_id} is not in this conversation.")
        target = ids[max(0, min(len(ids) - 1, ids.index(message_id) + step))]
        self.show_version(target)
        return target

    def delete(self, message_id: int) -> DeletedTurn:
        """Delete a message and every reply below it; `undo_delete` brings them back."""
        parents = self.conversation.parents
        if message_id not in parents:
            raise TandemError(f"Message {message_id} is not in this conversation.")
        stored = None
        if self.history is not None and self.conversation_id is not None:
            stored = self.history.delete_messages(self.conversation_id, message_id)
        gone = set(tree.subtree(parents, message_id))
        removed = tuple(m for m in self.conversation.nodes if m.id in gone)
        before = self.conversation.leaf_id
        self.conversation.nodes = [m for m in self.conversation.nodes if m.id not in gone]
        left = self.conversation.parents
        self.conversation.leaf_id = tree.current_leaf(left, parents[message_id])
        return DeletedTurn(removed, before, stored)

    def undo_delete(self, deleted: DeletedTurn) -> None:
        if deleted.stored is not None and self.history is not None:
            self.history.restore_messages(deleted.stored)
        known = {m.id for m in self.conversation.nodes}
        self.conversation.nodes = sorted(
            [*self.conversation.nodes, *(m for m in deleted.messages if m.id not in known)],
            key=lambda m: m.id,
        )
        self.conversation.leaf_id = deleted.leaf_id

    def fork(self, message_id: int) -> int | None:
        """Continue from `message_id` in a new conversation holding the path to it; the
        new conversation's id (None when nothing is saved). The service moves to it."""
        path = self.conversation.path_to(message_id)
        if not path:
            raise TandemError(f"Message {message_id} is not in this conversation.")
        if self.history is not None and self.conversation_id is not None:
            new_id = self.history.fork_conversation(self.conversation_id, message_id)
            self.open_conversation(new_id)
            return new_id
        copies = [replace(m, id=next(_ids)) for m in path]
        for n, copy in enumerate(copies):
            copy.parent_id = copies[n - 1].id if n else None
        self.conversation = Conversation(copies, copies[-1].id)
        self.conversation_id = None
        return None

    # ----- plumbing

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

    def _save_turn(
        self, text: str | None, parent_id: int | None, backend: Backend
    ) -> tuple[int | None, int | None]:
        """Store the user's message (when there is one) and an empty answer below it;
        their ids, or None when nothing is saved."""
        if self.history is None:
            return None, None
        if self.conversation_id is None:
            self.conversation_id = self.history.create_conversation(
                fallback_title(text or ""), default_model=backend.name
            )
        question_id: int | None = parent_id
        if text is not None:
            question_id = self.history.add_message(
                self.conversation_id, "user", text, parent_id=parent_id
            )
        host = getattr(getattr(backend, "provider", None), "host", None)
        reply_id = self.history.add_message(
            self.conversation_id,
            "assistant",
            "",
            model=backend.name,
            backend="local" if not hasattr(backend, "provider") else "cloud",
            host=host,
            status="streaming",
            run_info=backend.run_info(self.params),
            parent_id=question_id,
        )
        return (question_id if text is not None else None), reply_id

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
                reasoning=reply.reasoning,
            )
        except TandemError as exc:
            logger.error("could not save the answer: %s", exc.message)
            reply.error = (reply.error + " " if reply.error else "") + exc.message

    @staticmethod
    def _apply(reply: ConversationMessage, event: Event) -> None:
        match event:
            case Started(model=model):
                reply.model = model
            case Delta(text=text, kind=DeltaKind.REASONING):
                reply.reasoning += text
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
                said = reply.content or reply.reasoning
                reply.status = MessageStatus.INCOMPLETE if said else MessageStatus.ERROR
                logger.warning("answer failed: %s", error.message)
