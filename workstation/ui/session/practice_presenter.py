"""The presenter of Settings > Practice: who may open it, and the dialog's calls to the hub
(through the bridge, so the window never waits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import QWidget

from workstation.client.hub_answers import HubError, PracticeSettings
from workstation.core.practice import Practice
from workstation.ui.session.practice_dialog import PracticeDialog
from workstation.ui.widgets.bridge import AsyncBridge
from workstation.ui.widgets.error_text import describe

# Why the menu item is off, short enough for a menu, by the hub's refusal code.
SHORT_REASONS = {
    "first_provider_only": str(QT_TRANSLATE_NOOP("PracticeController",
                                                 "the first account only")),
    "clinic_hub": str(QT_TRANSLATE_NOOP("PracticeController", "set by IT")),
}
NOT_ALLOWED = str(QT_TRANSLATE_NOOP("PracticeController", "not allowed"))


class PracticeHub(Protocol):
    """What the presenter needs of the hub client."""

    async def practice_settings(self) -> PracticeSettings: ...
    async def save_practice_settings(self, npi: str,
                                     practice: Practice) -> PracticeSettings: ...


class PracticeController(QObject):
    """Settings > Practice for the signed-in provider.

    At sign-in it asks the hub whether this provider keeps the practice details (the embedded
    hub's first account does; anyone else, and everyone on a clinic's hub, is refused) and
    says so through ``access_changed``. :meth:`open` shows the dialog over ``parent``.

    Signals:
        access_changed(bool, str, str): whether the provider may change the practice details;
            if not, a few words for the menu and the hub's full reason.
        saved(str): the details were kept (words for the status bar).
    """

    access_changed = Signal(bool, str, str)
    saved = Signal(str)

    def __init__(self, bridge: AsyncBridge, parent: QWidget,
                 client: Callable[[], PracticeHub | None]) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._parent = parent
        self._client = client
        self.dialog: PracticeDialog | None = None
        # Bumped at sign-out: answers meant for the provider before are dropped.
        self._session = 0

    def signed_in(self) -> None:
        """Ask the hub whether this provider may change the practice details."""
        client = self._client()
        if client is None:
            return
        session = self._session

        def allowed(_settings: PracticeSettings) -> None:
            if session == self._session:
                self.access_changed.emit(True, "", "")

        def refused(error: BaseException) -> None:
            if session != self._session:
                return
            if isinstance(error, HubError) and error.status == 403:
                self._refused(error)
            else:  # not known yet: the dialog asks again and says what went wrong
                self.access_changed.emit(True, "", "")

        self._bridge.submit(client.practice_settings(), allowed, refused)

    def signed_out(self) -> None:
        self._session += 1
        self.close_dialog()
        self.access_changed.emit(False, "", "")

    def close_dialog(self) -> None:
        """Close the dialog unsaved (sign-out, the workstation locking)."""
        if self.dialog is not None:
            self.dialog.reject()

    def open(self) -> None:
        """Show the dialog and fill it from the hub; a second call raises the open one."""
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        client = self._client()
        if client is None:
            return
        dialog = self.dialog = PracticeDialog(self._parent)

        def finished(_result: int) -> None:
            if self.dialog is dialog:
                self.dialog = None
            dialog.deleteLater()

        def loaded(settings: PracticeSettings) -> None:
            if self.dialog is dialog:
                dialog.show_settings(settings.npi, settings.practice)

        def failed(error: BaseException) -> None:
            if self.dialog is dialog:
                dialog.show_unavailable(describe(error))
            self._refused(error)

        dialog.finished.connect(finished)
        dialog.save_requested.connect(self._on_dialog_save_requested)
        dialog.open()
        self._bridge.submit(client.practice_settings(), loaded, failed)

    def _on_dialog_save_requested(self, npi: str, practice: Practice) -> None:
        client = self._client()
        dialog = self.dialog
        if client is None or dialog is None:
            return
        session = self._session

        def kept(_settings: PracticeSettings) -> None:
            if session != self._session:
                return
            if self.dialog is dialog:
                dialog.accept()
            self.saved.emit(self.tr("Practice details saved: new prescriptions carry them."))

        def failed(error: BaseException) -> None:
            if self.dialog is dialog:
                fields = error.fields if isinstance(error, HubError) else {}
                dialog.show_error(describe(error), next(iter(fields), None))
            if session == self._session:
                self._refused(error)

        self._bridge.submit(client.save_practice_settings(npi, practice), kept, failed)

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, HubError) and error.status == 403:
            self.access_changed.emit(
                False, self.tr(SHORT_REASONS.get(error.code, NOT_ALLOWED)), error.message)
