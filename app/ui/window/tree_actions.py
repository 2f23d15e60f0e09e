"""The conversation tree in the window: the actions under each message (regenerate on
this or another model, edit and resend, fork, delete with undo) and the version
switches. The chat controller runs the answers; this decides which and redraws."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.backends.base import Backend
from app.core.errors import SensitiveContent, TandemError
from app.core.events import CancelToken
from app.services.chat import OnSensitive
from app.ui import alerts
from app.ui.bridge import StreamTask
from app.ui.chat.message_actions import ModelChoice

if TYPE_CHECKING:
    from app.ui.window.chat_controller import ChatController


class TreeActions:
    """What each message's actions do, for every column of one chat controller."""

    def __init__(
        self,
        chat: ChatController,
        models: Callable[[], list[ModelChoice]],
        backend_for: Callable[[str], Backend] | None,
    ) -> None:
        self.chat = chat
        self._backend_for = backend_for
        self.editing: tuple[str, int] | None = None  # (side, message id) being edited
        self.reload_after: set[str] = set()  # columns to show afresh when the answer ends
        for side, pane in chat.panes.items():
            pane.view.version_of = pane.service.version_of
            pane.view.model_choices = models
            pane.view.message_action.connect(
                lambda action, message_id, argument, side=side: self._on_message_action(
                    side, action, message_id, argument
                )
            )

    def send_edit(self, text: str) -> bool:
        """Send `text` as the edit begun with `begin_edit`; False when none was begun."""
        if self.editing is None:
            return False
        side, message_id = self.editing
        self.editing = None
        self.edit_and_resend(message_id, text, side)
        return True

    def after_answer(self) -> None:
        for side in self.reload_after:
            self.reload(side)
        self.reload_after.clear()

    def _on_message_action(self, side: str, action: str, message_id: int, argument: str) -> None:
        if self.chat.generating:
            alerts.info(self.chat.parent_widget, "Wait for the answer to finish, or stop it first.")
            return
        try:
            match action:
                case "regenerate":
                    self.regenerate(message_id, argument, side)
                case "edit":
                    self.begin_edit(message_id, side)
                case "fork":
                    self.fork(message_id, side)
                case "delete":
                    self.delete(message_id, side)
                case "version":
                    self.switch_version(message_id, int(argument), side)
        except TandemError as exc:
            self.chat.failed.emit(exc)

    def _policy(self, check: Callable[[], object]) -> OnSensitive | None:
        """ASK when the scan finds nothing, the person's choice when it does, None for no."""
        try:
            check()
        except SensitiveContent as exc:
            return self.chat.ask_about_sensitive(exc.message)
        return OnSensitive.ASK

    def reload(self, side: str = "a", focus_id: int = 0) -> None:
        """Show the path the service's conversation shows now."""
        pane = self.chat.panes[side]
        pane.reply = None
        pane.view.load_history(list(pane.service.conversation.messages), focus_id)
        pane.update_totals()

    def regenerate(self, message_id: int, spec: str = "", side: str = "a") -> None:
        """Answer again as a new version, on the column's model or on `spec`."""
        pane = self.chat.panes[side]
        service = pane.service
        answer = service.conversation.get(message_id)
        if answer is None or answer.parent_id is None:
            raise TandemError("This answer is no longer in the conversation.")
        backend = None
        if spec:
            if self._backend_for is None:
                raise TandemError("No other model can be chosen here.")
            backend = self._backend_for(spec)
        chosen = backend or service.backend
        if chosen is None:
            raise TandemError("Choose a model first.")
        policy = self._policy(
            lambda: service.check_turn(
                "", OnSensitive.ASK, regenerate=True, regenerate_id=message_id, backend=backend
            )
        )
        if policy is None:
            return
        above = service.conversation.path_to(answer.parent_id)
        pane.view.load_history(above)
        pane.start_answer(chosen.name, len(above))
        self.reload_after.add(side)
        cancel = CancelToken()
        self.chat.run(
            StreamTask(lambda: service.regenerate(cancel, message_id, backend, policy)), cancel
        )

    def begin_edit(self, message_id: int, side: str = "a") -> None:
        """Put a message of yours in the composer; Send makes it a new branch."""
        message = self.chat.panes[side].service.conversation.get(message_id)
        if message is None:
            raise TandemError("This message is no longer in the conversation.")
        self.editing = (side, message_id)
        self.chat.composer.set_text(message.content)
        self.chat.composer.editor.setFocus()
        alerts.info(self.chat.parent_widget, "Editing your message: Send makes it a new version.")

    def edit_and_resend(self, message_id: int, text: str, side: str = "a") -> None:
        pane = self.chat.panes[side]
        service = pane.service
        original = service.conversation.get(message_id)
        if original is None:
            self.chat.failed.emit(TandemError("This message is no longer in the conversation."))
            return
        policy = self._policy(lambda: service.check_turn(text, OnSensitive.ASK, edit_id=message_id))
        if policy is None:
            self.chat.composer.set_text(text)
            return
        above = service.conversation.path_to(original.parent_id)
        pane.view.load_history(above)
        pane.start_exchange(text, before=len(above))
        self.reload_after.add(side)
        cancel = CancelToken()
        self.chat.run(
            StreamTask(lambda: service.edit_and_resend(message_id, text, cancel, policy)), cancel
        )

    def switch_version(self, message_id: int, step: int, side: str = "a") -> None:
        shown = self.chat.panes[side].service.switch_version(message_id, step)
        self.reload(side, shown)

    def fork(self, message_id: int, side: str = "a") -> None:
        new_id = self.chat.panes[side].service.fork(message_id)
        self.reload(side)
        self.chat.forked.emit(new_id or 0)

    def delete(self, message_id: int, side: str = "a") -> None:
        service = self.chat.panes[side].service
        deleted = service.delete(message_id)
        self.reload(side)
        count = len(deleted.messages)
        what = "a message" if count == 1 else f"a message and {count - 1} below it"

        def undo() -> None:
            service.undo_delete(deleted)
            self.reload(side, message_id)

        self.chat.undo_offered.emit(f"Deleted {what}.", undo, "Restored the message.")
