"""Send, retry and stop, and where each answer's events go: the window's chat logic,
apart from the widgets it drives."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.backends.base import Backend
from app.backends.local.supervisor import LocalEngine
from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken, Event, Failed, Finished
from app.core.messages import MessageStatus, Role
from app.core.stats import AnswerStats
from app.services.chat import OnSensitive
from app.services.compare import CompareSession, verdict
from app.services.documents import DocumentContext, DocumentsService
from app.ui import alerts
from app.ui.bridge import StreamTask, Task
from app.ui.chat.attachments import AttachmentBar
from app.ui.chat.composer import Composer
from app.ui.chat.message_actions import ModelChoice
from app.ui.chat.pane import ChatPane
from app.ui.dialogs.usage import ask_over_budget
from app.ui.window.tree_actions import TreeActions

# Up to this many characters the sensitive-text scan takes a few milliseconds, and runs
# at once; a longer paste is scanned in a worker.
_SCAN_HERE_CHARS = 65_536


def _sensitive_problem(panes: list[ChatPane], text: str) -> str | None:
    """What the sensitive-text rule says about sending `text` to these panes' backends."""
    try:
        for pane in panes:
            pane.service.check_sensitive(text, OnSensitive.ASK)
    except SensitiveContent as exc:
        return exc.message
    return None


class ChatController(QObject):
    """Runs the exchanges of columns A and B (one, or both at once in compare mode).

    Signals:
        failed(object): a TandemError to show (nothing was sent).
        answered(): an exchange ended, after its last event.
        verdict_changed(object): the compare Verdict after an exchange, None when there is none.
        undo_offered(str, object, str): what was deleted, the function that undoes it,
            and what to say once it is undone (from `tree`, the versions and edits).
        forked(int): the conversation continues as a new one with this id (0: unsaved).
    """

    failed = Signal(object)
    answered = Signal()
    verdict_changed = Signal(object)
    undo_offered = Signal(str, object, str)
    forked = Signal(int)

    def __init__(
        self,
        panes: dict[str, ChatPane],
        composer: Composer,
        engine: LocalEngine,
        comparing: Callable[[], bool],
        send_to: Callable[[], tuple[str, ...]],
        parent: QWidget,
        *,
        models: Callable[[], list[ModelChoice]] = list,
        backend_for: Callable[[str], Backend] | None = None,
    ) -> None:
        """`comparing()` says whether compare mode is on, `send_to()` which columns a
        message then goes to."""
        super().__init__(parent)
        self._parent = parent
        self.panes = panes
        self.composer = composer
        self.engine = engine
        self._comparing = comparing
        self._send_to = send_to
        self._scanning: tuple[str, tuple[str, ...], bool] | None = None  # a paste being scanned
        self._cancel: CancelToken | None = None
        self._stream_task: StreamTask | None = None
        # The conversation column A is answering in, while it answers; it keeps streaming
        # there (and into the history) when another conversation is opened meanwhile.
        self._live: tuple[object, int | None] | None = None
        self.compare_events: list[tuple[str, Event]] = []
        self.stop_clicked_at: float | None = None
        # Files attached to the next message, and the service that reads them (set by the window).
        self.attachments: AttachmentBar | None = None
        self.documents: DocumentsService | None = None
        composer.send_requested.connect(self.send)
        composer.stop_requested.connect(self.stop)
        for pane in panes.values():
            pane.retry_requested.connect(self.retry)
        self.tree = TreeActions(self, models, backend_for)

    @property
    def parent_widget(self) -> QWidget:
        return self._parent

    @property
    def generating(self) -> bool:
        return self.composer.generating

    def send(self, text: str) -> None:
        if self.tree.send_edit(text):
            return
        comparing = self._comparing()
        sides = self._send_to() if comparing else ("a",)
        panes = [self.panes[s] for s in sides]
        missing = [p for p in panes if p.service.backend is None]
        if missing:
            self.composer.set_text(text)
            for pane in missing:  # said in the column that lacks it
                pane.view.add_notice("Choose a model for this column first.")
            alerts.warning(self._parent, "Choose a model first.")
            return
        if self.attachments is not None and self.attachments.paths and not comparing:
            self._prepare_documents(text, sides)
            return
        scanned_here = len(text) <= _SCAN_HERE_CHARS
        leaves = any(
            p.service.backend is not None and p.service.backend.leaves_device for p in panes
        )
        if scanned_here or not leaves:
            self._after_scan(text, sides, comparing, _sensitive_problem(panes, text))
            return
        # A long paste to a cloud model is scanned in a worker: the window keeps running.
        self.composer.setEnabled(False)
        self._scanning = (text, sides, comparing)
        task = Task(lambda: _sensitive_problem(panes, text))
        task.succeeded.connect(self._on_scanned)  # a slot of ours: called on the GUI thread
        task.failed.connect(self._on_scan_failed)
        task.start()

    def _on_scanned(self, problem: object) -> None:
        self.composer.setEnabled(True)
        if self._scanning is not None:
            text, sides, comparing = self._scanning
            self._scanning = None
            self._after_scan(text, sides, comparing, problem if isinstance(problem, str) else None)

    def _on_scan_failed(self, exc: object) -> None:
        self.composer.setEnabled(True)
        if self._scanning is not None:
            self.composer.set_text(self._scanning[0])
            self._scanning = None
        self.failed.emit(exc if isinstance(exc, TandemError) else TandemError(str(exc)))

    def _prepare_documents(self, text: str, sides: tuple[str, ...]) -> None:
        """Read the attached files in a worker (parsing and embedding take a while), then
        scan the message with its passages and send them together."""
        assert self.attachments is not None
        assert self.documents is not None
        paths = self.attachments.take()
        self.attachments.show_reading(paths)
        service, documents = self.panes["a"].service, self.documents
        history = sum(len(m.content) for m in service.conversation.context())
        self.composer.setEnabled(False)

        def prepared(result: object) -> None:
            self.composer.setEnabled(True)
            assert self.attachments is not None
            self.attachments.add([])  # the reading note goes
            for refused in getattr(result, "refused", ()):
                alerts.warning(self._parent, f"Not attached: {refused.message}")
            prompt = result.prompt(text) if isinstance(result, DocumentContext) else text
            problem = _sensitive_problem([self.panes[s] for s in sides], prompt)
            self._after_scan(text, sides, False, problem, result)

        def refused(exc: object) -> None:
            self.composer.setEnabled(True)
            self.composer.set_text(text)
            assert self.attachments is not None
            self.attachments.add(paths)
            self.failed.emit(exc if isinstance(exc, TandemError) else TandemError(str(exc)))

        task = Task(
            lambda: documents.prepare(
                text, attachments=paths, context_tokens=service.params.context_length,
                answer_tokens=service.params.max_tokens, history_chars=history,
                backend=service.backend,
            )
        )  # fmt: skip
        task.succeeded.connect(prepared)
        task.failed.connect(refused)
        self._prepare_task = task.start()

    def _after_scan(
        self,
        text: str,
        sides: tuple[str, ...],
        comparing: bool,
        problem: str | None,
        documents: object = None,
    ) -> None:
        """Ask about what the scan found, if anything, then send."""
        policy = OnSensitive.ASK
        if problem is not None:
            decision = self.ask_about_sensitive(problem)
            if decision is None:
                self.composer.set_text(text)
                return
            policy = decision
        panes = [self.panes[s] for s in sides]
        over_budget = ask_over_budget(self._parent, [p.service for p in panes], text)
        if over_budget is None:
            self.composer.set_text(text)
            return
        for pane in panes:
            pane.view.show_to_end()
            pane.start_exchange(text)
        cancel = CancelToken()
        if comparing:
            session = CompareSession(self.panes["a"].service, self.panes["b"].service)
            self.run(
                StreamTask(lambda: session.send(text, cancel, sides, policy, over_budget)), cancel
            )
        else:
            service = self.panes["a"].service
            docs = documents if isinstance(documents, DocumentContext) else None
            self.run(
                StreamTask(
                    lambda: service.send(
                        text, cancel, policy, over_budget=over_budget, documents=docs
                    )
                ),
                cancel,
            )

    def run(self, task: StreamTask, cancel: CancelToken) -> None:
        """Stream one exchange's events into the columns."""
        self._cancel = cancel
        self.stop_clicked_at = None
        self.compare_events = []
        task.arrived.connect(self._on_event)
        task.done.connect(self._on_done)
        self.composer.set_generating(True)
        self._live = (self.panes["a"].service.conversation, None)
        self._stream_task = task.start()

    def open(self, conversation_id: int, message_id: int = 0) -> bool:
        """Show a stored conversation in column A and continue it from there. An answer
        being written goes on, into its own conversation; opening that one again shows it
        still streaming."""
        pane = self.panes["a"]
        service = pane.service
        if self.generating and self._live is not None:
            live, live_id = self._live
            if service.conversation is live:
                live_id = service.conversation_id
                self._live = (live, live_id)
            if conversation_id == live_id and service.conversation is not live:
                service.conversation = live  # type: ignore[assignment]
                service.conversation_id = live_id
                self._show(pane, message_id)
                reply = pane.view.messages[-1] if pane.view.messages else None
                if reply is not None and reply.role == "assistant":
                    pane.follow(reply, live.messages[-1])  # type: ignore[attr-defined]
                    reply.status = MessageStatus.STREAMING
                return True
        try:
            service.open_conversation(conversation_id, message_id)
        except TandemError as exc:
            self.failed.emit(exc)
            return False
        self._show(pane, message_id)
        return True

    def open_pair(self, a_id: int, b_id: int, focus: tuple[int, int] = (0, 0)) -> bool:
        """Show a stored Compare pair, A's conversation in column A and B's in column B
        (`focus`: a message to show in each), with the verdict on their last answers."""
        if not self.open(a_id, focus[0]):
            return False
        pane = self.panes["b"]
        try:
            pane.service.open_conversation(b_id, focus[1])
        except TandemError as exc:
            self.failed.emit(exc)
            return False
        self._show(pane, focus[1])
        last = [self.panes[s].service.conversation.messages for s in ("a", "b")]
        stats = [m[-1].stats if m and m[-1].role is Role.ASSISTANT else None for m in last]
        a, b = stats
        self.verdict_changed.emit(None if a is None or b is None else verdict(a, b))
        return True

    def _show(self, pane: ChatPane, message_id: int) -> None:
        self.tree.editing = None
        side = next(s for s, p in self.panes.items() if p is pane)
        self.tree.reload(side, message_id)

    @property
    def answering_elsewhere(self) -> bool:
        """An answer is being written into a conversation other than the one shown."""
        return (
            self.generating
            and self._live is not None
            and self.panes["a"].service.conversation is not self._live[0]
        )

    def clear(self) -> None:
        """Start both columns afresh. An answer being written goes on, into its own
        conversation (as when another one is opened); opening it again shows it."""
        if self.generating and self._live is not None:
            live = self._live[0]
            if self.panes["a"].service.conversation is live:
                self._live = (live, self.panes["a"].service.conversation_id)
        else:
            self.stop()
        self.tree.editing = None
        for pane in self.panes.values():
            pane.clear()
        self.verdict_changed.emit(None)

    def retry(self, text: str) -> None:
        """Send a failed message again (the failed exchange stays, out of the context)."""
        if not self.generating:
            if self.composer.text() == text:
                self.composer.set_text("")
            self.send(text)

    def ask_about_sensitive(self, message: str) -> OnSensitive | None:
        chosen = alerts.choose(
            self._parent, "Sensitive content", message, ["Send anyway", "Send without them"]
        )
        return None if chosen is None else (OnSensitive.SEND, OnSensitive.REDACT)[chosen]

    def stop(self) -> None:
        if self._cancel is not None and not self._cancel.cancelled:
            self.stop_clicked_at = time.perf_counter()
            self._cancel.cancel()
            self.engine.cancel()

    def _on_event(self, item: object) -> None:
        side, event = item if isinstance(item, tuple) else ("a", item)
        pane = self.panes[side]
        pane.apply(event)
        self.compare_events.append((side, event))
        if isinstance(event, Failed) and pane.reply is not None:
            if not pane.reply.text and not self.composer.text().strip():
                self.composer.set_text(pane.sent_text)
            alerts.warning(self._parent, event.error.message)

    def _on_done(self) -> None:
        elsewhere = self.answering_elsewhere  # its verdict belongs to the conversation left
        self._live = None
        for pane in self.panes.values():
            pane.end()
        self.tree.after_answer()
        self.composer.set_generating(False)
        self._stream_task = None
        stats: dict[str, AnswerStats | None] = {"a": None, "b": None}
        for side, event in self.compare_events:
            if isinstance(event, Finished):
                stats[side] = event.stats
        a, b = stats["a"], stats["b"]
        self.answered.emit()
        judged = a is not None and b is not None and not elsewhere
        self.verdict_changed.emit(verdict(a, b) if judged else None)
