"""The practice's address and phone as a group of fields, shared by the first run's form and
Settings > Practice."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from workstation.core.people import Address
from workstation.core.practice import Practice, practice_problems

TITLE = str(QT_TRANSLATE_NOOP("PracticeFields", "Practice (printed on prescriptions)"))
# The accessible names of the fields, by the hub's (and core/practice.py's) field names.
FIELD_NAMES = {
    "line1": str(QT_TRANSLATE_NOOP("PracticeFields", "Address line 1")),
    "line2": str(QT_TRANSLATE_NOOP("PracticeFields", "Address line 2")),
    "city": str(QT_TRANSLATE_NOOP("PracticeFields", "City")),
    "state": str(QT_TRANSLATE_NOOP("PracticeFields", "State")),
    "postal_code": str(QT_TRANSLATE_NOOP("PracticeFields", "ZIP code")),
    "phone": str(QT_TRANSLATE_NOOP("PracticeFields", "Practice phone")),
}


class PracticeFields(QGroupBox):
    """Address line 1 and 2, city, state and ZIP on one row, and the phone. It checks what it
    can (:meth:`problem`) and never clears what was typed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr(TITLE), parent)
        self.setAccessibleName(self.tr(TITLE))
        self.line1_edit = self._edit("line1")
        self.line2_edit = self._edit("line2")
        self.line2_edit.setPlaceholderText(self.tr("optional: suite, floor"))
        self.city_edit = self._edit("city")
        self.state_edit = self._edit("state")
        self.state_edit.setMaxLength(2)
        self.state_edit.setPlaceholderText(self.tr("TX"))
        self.state_edit.setMaximumWidth(self.fontMetrics().horizontalAdvance("MMMM") + 16)
        self.postal_code_edit = self._edit("postal_code")
        self.postal_code_edit.setMaxLength(10)
        self.postal_code_edit.setPlaceholderText(self.tr("78701"))
        self.postal_code_edit.setMaximumWidth(
            self.fontMetrics().horizontalAdvance("00000-00000") + 16)
        self.phone_edit = self._edit("phone")
        self.phone_edit.setPlaceholderText(self.tr("e.g. 512-555-0100"))

        # Letters free beside the sign-in forms and the window's menus (tests/ui/
        # test_mnemonics.py walks both).
        state_label = QLabel(self.tr("St&ate"))
        state_label.setBuddy(self.state_edit)
        zip_label = QLabel(self.tr("&ZIP"))
        zip_label.setBuddy(self.postal_code_edit)
        place = QHBoxLayout()
        place.setContentsMargins(0, 0, 0, 0)
        place.addWidget(self.city_edit, 1)
        place.addWidget(state_label)
        place.addWidget(self.state_edit)
        place.addWidget(zip_label)
        place.addWidget(self.postal_code_edit)

        form = QFormLayout(self)
        form.addRow(self.tr("A&ddress line 1"), self.line1_edit)
        form.addRow(self.tr("Address line &2"), self.line2_edit)
        city_label = QLabel(self.tr("Cit&y"))  # a row of three: its label needs its buddy
        city_label.setBuddy(self.city_edit)
        form.addRow(city_label, place)
        form.addRow(self.tr("P&hone"), self.phone_edit)
        self._by_field = {"line1": self.line1_edit, "line2": self.line2_edit,
                          "city": self.city_edit, "state": self.state_edit,
                          "postal_code": self.postal_code_edit, "phone": self.phone_edit}

    def _edit(self, field: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(self.tr(FIELD_NAMES[field]))
        return edit

    @property
    def edits(self) -> list[QLineEdit]:
        return list(self._by_field.values())

    def set_practice(self, practice: Practice | None) -> None:
        """Fill the fields (what the hub or the site file says)."""
        a = practice.address if practice is not None else None
        self.line1_edit.setText(a.line1 if a else "")
        self.line2_edit.setText(a.line2 if a else "")
        self.city_edit.setText(a.city if a else "")
        self.state_edit.setText(a.state if a else "")
        self.postal_code_edit.setText(a.postal_code if a else "")
        self.phone_edit.setText(practice.phone if practice is not None else "")

    def practice(self) -> Practice:
        """What is typed, trimmed (the state in capitals)."""
        return Practice(Address(self.line1_edit.text().strip(), self.city_edit.text().strip(),
                                self.state_edit.text().strip().upper(),
                                self.postal_code_edit.text().strip(),
                                self.line2_edit.text().strip()),
                        self.phone_edit.text().strip())

    def problem(self) -> tuple[str, QLineEdit] | None:
        """The first thing to fix, in words for the provider, and its field."""
        problems = practice_problems(self.practice())
        if not problems:
            return None
        field, message = next(iter(problems.items()))
        return message, self._by_field[field]

    def field(self, path: str) -> QLineEdit | None:
        """The field a hub's per-field message names (``practice.address.city``, ``phone``)."""
        return self._by_field.get(path.rsplit(".", 1)[-1])
