"""The script's directions (sig) and what is dispensed, as the provider fills them in."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from workstation.core.formulary import DISPENSE_UNITS, DOSE_UNITS, FREQUENCIES, Drug, Sig
from workstation.core.prescribing import MAX_REFILLS
from workstation.ui.widgets.card import plain

MAX_NOTE = 210


def plain_decimal(value: float) -> Decimal:
    """A spin box's value as the decimal the script carries (no float noise, no exponent)."""
    return Decimal(str(round(value, 3))).normalize()


class ScriptForm(QWidget):
    """Dose, how often, for how long, the directions as the pharmacy prints them, quantity,
    days supply, refills, substitution and the note to the pharmacist.

    Signals:
        edited(): a value changed (by the provider, or by filling the form in).
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dose = QDoubleSpinBox()
        self.dose.setRange(0.0, 1000.0)
        self.dose.setDecimals(2)
        self.dose.setAccessibleName(self.tr("Dose"))
        self.dose_unit = QComboBox()
        self.dose_unit.addItems(list(DOSE_UNITS))
        self.dose_unit.setAccessibleName(self.tr("Dose unit"))
        self.frequency = QComboBox()
        for code, (words, _per_day) in FREQUENCIES.items():
            self.frequency.addItem(words, code)
        self.frequency.setAccessibleName(self.tr("How often"))
        self.prn = QCheckBox(self.tr("As needed"))
        self.duration = QSpinBox()
        self.duration.setRange(0, 365)
        self.duration.setSpecialValueText(self.tr("no set end"))
        self.duration.setSuffix(self.tr(" days"))
        self.duration.setAccessibleName(self.tr("For how many days"))
        self.route_label = plain("")
        self.sig_text = plain("")
        self.sig_text.setAccessibleName(self.tr("Directions as the pharmacy prints them"))

        self.quantity = QDoubleSpinBox()
        self.quantity.setRange(0.0, 10000.0)
        self.quantity.setDecimals(1)
        self.quantity.setAccessibleName(self.tr("Quantity"))
        self.quantity_unit = QComboBox()
        self.quantity_unit.addItems(list(DISPENSE_UNITS))
        self.quantity_unit.setAccessibleName(self.tr("Quantity unit"))
        self.days_supply = QSpinBox()
        self.days_supply.setRange(1, 365)
        self.days_supply.setSuffix(self.tr(" days"))
        self.days_supply.setAccessibleName(self.tr("Days supply"))
        self.refills = QSpinBox()
        self.refills.setRange(0, MAX_REFILLS)
        self.refills.setAccessibleName(self.tr("Refills"))
        self.substitution = QCheckBox(self.tr("Generic substitution allowed"))
        self.substitution.setChecked(True)
        self.note = QLineEdit()
        self.note.setMaxLength(MAX_NOTE)
        self.note.setAccessibleName(self.tr("Note to the pharmacist"))

        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setVerticalSpacing(4)
        form = self.form
        form.addRow(_caption(self.tr("Dose"), self.dose),
                    _row(self.dose, self.dose_unit, self.route_label))
        form.addRow(_caption(self.tr("Ho&w often"), self.frequency),
                    _row(self.frequency, self.prn, QLabel(self.tr("for")), self.duration))
        form.addRow(self.tr("Directions"), self.sig_text)
        form.addRow(_caption(self.tr("Q&uantity"), self.quantity),
                    _row(self.quantity, self.quantity_unit,
                         _caption(self.tr("Days supply"), self.days_supply), self.days_supply))
        form.addRow(_caption(self.tr("Refills"), self.refills),
                    _row(self.refills, self.substitution))
        form.addRow(_caption(self.tr("Note to pharmacist"), self.note), self.note)

        for spin in (self.dose, self.quantity):
            spin.valueChanged.connect(self.edited)
        for box in (self.duration, self.days_supply, self.refills):
            box.valueChanged.connect(self.edited)
        for combo in (self.dose_unit, self.frequency, self.quantity_unit):
            combo.currentIndexChanged.connect(self.edited)
        for check in (self.prn, self.substitution):
            check.toggled.connect(self.edited)
        self.note.textChanged.connect(self.edited)

    def set_fields_enabled(self, enabled: bool) -> None:
        for widget in (self.dose, self.dose_unit, self.frequency, self.prn, self.duration,
                       self.quantity, self.quantity_unit, self.days_supply, self.refills,
                       self.substitution, self.note):
            widget.setEnabled(enabled)

    def fill(self, drug: Drug | None) -> None:
        """The drug's default directions and quantity; nothing without a drug."""
        if drug is None:
            self.route_label.setText("")
            self.sig_text.setText("")
            return
        self.dose.setValue(float(drug.sig.dose))
        self.dose_unit.setCurrentText(drug.sig.dose_unit)
        self.frequency.setCurrentIndex(self.frequency.findData(drug.sig.frequency))
        self.prn.setChecked(drug.sig.prn)
        self.duration.setValue(drug.sig.duration_days or 0)
        self.route_label.setText(drug.route)
        self.quantity.setValue(float(drug.quantity))
        self.quantity_unit.setCurrentText(drug.quantity_unit)
        self.days_supply.setValue(drug.days_supply)
        self.refills.setValue(0)
        self.substitution.setChecked(True)
        self.note.clear()

    def sig(self, route: str) -> Sig:
        return Sig(dose=plain_decimal(self.dose.value()), dose_unit=self.dose_unit.currentText(),
                   route=route, frequency=str(self.frequency.currentData()),
                   duration_days=self.duration.value() or None, prn=self.prn.isChecked())

    def values(self) -> dict[str, str]:
        """The form as the draft keeps it (every value as text)."""
        return {
            "dose": str(plain_decimal(self.dose.value())),
            "dose_unit": self.dose_unit.currentText(),
            "frequency": str(self.frequency.currentData()), "prn": str(self.prn.isChecked()),
            "duration_days": str(self.duration.value()),
            "quantity": str(plain_decimal(self.quantity.value())),
            "quantity_unit": self.quantity_unit.currentText(),
            "days_supply": str(self.days_supply.value()), "refills": str(self.refills.value()),
            "substitution_allowed": str(self.substitution.isChecked()),
            "note": self.note.text(),
        }

    def restore(self, values: Mapping[str, Any], drug: Drug) -> None:
        """A saved draft's values, the drug's defaults where one is missing. Raises TypeError
        or ValueError at the first value that cannot be read (those before it are set)."""
        self.dose.setValue(float(values.get("dose", drug.sig.dose)))
        self.dose_unit.setCurrentText(str(values.get("dose_unit", drug.sig.dose_unit)))
        index = self.frequency.findData(values.get("frequency", drug.sig.frequency))
        self.frequency.setCurrentIndex(max(index, 0))
        self.prn.setChecked(values.get("prn") == "True")
        self.duration.setValue(int(values.get("duration_days") or 0))
        self.quantity.setValue(float(values.get("quantity", drug.quantity)))
        self.quantity_unit.setCurrentText(str(values.get("quantity_unit", drug.quantity_unit)))
        self.days_supply.setValue(int(values.get("days_supply") or drug.days_supply))
        self.refills.setValue(int(values.get("refills") or 0))
        self.substitution.setChecked(values.get("substitution_allowed") != "False")
        self.note.setText(str(values.get("note", "")))

    def dispense(self) -> dict[str, Any]:
        """What is dispensed, as the hub takes it."""
        return {
            "quantity": str(plain_decimal(self.quantity.value())),
            "quantity_unit": self.quantity_unit.currentText(),
            "days_supply": self.days_supply.value(), "refills": self.refills.value(),
            "substitution_allowed": self.substitution.isChecked(),
            "note": self.note.text().strip(),
        }


class ScriptFormArea(QScrollArea):
    """The script's fields, as tall as they need where there is room; where there is not (a
    laptop during a video call, the call pane above the chart) they scroll here, and what sits
    below them (the warnings and Send) stays in view.

    Its preferred height is its smallest (``rows`` rows of fields): the tab's own scroll area
    sizes its page by preferred heights and would otherwise scroll the whole pane instead.
    """

    def __init__(self, form: ScriptForm, rows: int = 3, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields = form  # before setWidget: from then on its events come here
        spacing = max(form.form.verticalSpacing(), 0)
        self._least = rows * (form.dose.sizeHint().height() + spacing)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(form)

    def sizeHint(self) -> QSize:  # Qt override
        return QSize(self._width(self._fields.sizeHint().width()), self._least)

    def minimumSizeHint(self) -> QSize:  # Qt override
        return QSize(self._width(self._fields.minimumSizeHint().width()), self._least)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        # QScrollArea watches its widget already: a field shown or hidden changes its height.
        if watched is self._fields and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self._fit()

    def _width(self, content: int) -> int:
        return content + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def _fit(self) -> None:
        """Never taller than the fields: the room left over stays below Send, not inside."""
        fields = self._fields
        width = self.viewport().width()
        full = fields.heightForWidth(width) if fields.hasHeightForWidth() else -1
        if full < 0:
            full = fields.sizeHint().height()
        full = max(full, fields.minimumSizeHint().height(), self._least) + 2 * self.frameWidth()
        if full != self.maximumHeight():
            self.setMaximumHeight(full)


def _row(*widgets: QWidget) -> QHBoxLayout:
    line = QHBoxLayout()
    line.setSpacing(6)  # the form's own spacing differs across and down: it gives none
    for widget in widgets:
        line.addWidget(widget)
    line.addStretch(1)
    return line


def _caption(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    return label
