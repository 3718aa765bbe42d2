"""The right-hand side of the workspace while no chart is open: what to do next, the
patient just claimed while their chart opens, or why a claim did not go through."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from workstation.core.queue import QueueEntry

# A source text, translated where it is shown; the marker lets lupdate find it.
PLACEHOLDER_TEXT = str(QT_TRANSLATE_NOOP("VisitPanel", "No chart is open"))
HINT_TEXT = str(QT_TRANSLATE_NOOP(
    "VisitPanel", "Claim the next patient (Ctrl+N), begin a visit from today's schedule, or "
                  "open a visit you have not signed yet from My open visits."))


class VisitPanel(QWidget):
    """What shows while no chart is open, with the outcome of the last claim.

    Signals:
        release_requested(str): the provider asked to put this claimed visit back in the queue.
    """

    release_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._visit_id: str | None = None
        self.heading = QLabel()
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.heading.setWordWrap(True)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.release_button = QPushButton(self.tr("Return to the queue"))
        self.release_button.setToolTip(
            self.tr("Put this patient back in the queue for any provider"))
        self.release_button.setAccessibleName(self.tr("Return the patient to the queue"))
        self._sexes = {"female": self.tr("Female"), "male": self.tr("Male"),
                       "other": self.tr("Other"), "unknown": self.tr("Unknown")}

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.heading)
        layout.addWidget(self.detail)
        layout.addWidget(self.release_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

        self.release_button.clicked.connect(self._on_release_button_clicked)
        self.show_placeholder()

    @property
    def claimed_visit_id(self) -> str | None:
        return self._visit_id

    def show_placeholder(self) -> None:
        self._visit_id = None
        self.heading.setText(self.tr(PLACEHOLDER_TEXT))
        self.heading.setStyleSheet("")
        self.detail.setText(self.tr(HINT_TEXT))
        self.detail.setStyleSheet("")
        self.release_button.hide()
        self.release_button.setEnabled(True)

    def show_claimed(self, visit_id: str, entry: QueueEntry | None = None) -> None:
        """Confirm the claim in plain words: which patient, which visit."""
        self._visit_id = visit_id
        self.heading.setText(self.tr("Opening the chart of the patient you claimed…"))
        self.heading.setStyleSheet("")
        lines = []
        if entry is not None:
            sex = self._sexes.get(entry.sex, entry.sex.title())
            # The hub's condition name goes in last, so nothing in it is taken for a "%2".
            #: %1 is the condition, %2 the patient's age, %3 their sex.
            lines.append(self.tr("%1 · %2 · %3").replace("%3", sex).replace(
                "%2", str(entry.age)).replace("%1", entry.condition_name))
        lines.append(self.tr("Visit %1").replace("%1", visit_id))
        lines.append(self.tr("The patient's page now says their provider is ready."))
        self.detail.setText("\n".join(lines))
        self.detail.setStyleSheet("")
        self.release_button.show()
        self.release_button.setEnabled(True)

    def show_claim_failed(self, message: str) -> None:
        """The hub's reason, e.g. another provider claimed the patient first."""
        self._visit_id = None
        self.heading.setText(self.tr("The claim did not go through"))
        self.heading.setStyleSheet("")
        self.detail.setText(message)
        self.detail.setStyleSheet("color: #8b0000;")
        self.release_button.hide()
        QAccessible.updateAccessibility(QAccessibleEvent(self.detail, QAccessible.Event.Alert))

    def set_releasing(self, releasing: bool) -> None:
        self.release_button.setEnabled(not releasing)

    def _on_release_button_clicked(self) -> None:
        if self._visit_id is not None:
            self.release_button.setEnabled(False)
            self.release_requested.emit(self._visit_id)
