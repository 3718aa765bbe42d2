"""What the chart asks of each of its tabs whose contents are kept as a draft."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget


class DraftPane(QWidget):
    """A tab of the chart (diagnosis, plan, disposition, a feature's pane such as the
    prescriptions) that the chart saves as a draft: it reads the pane with ``body``, fills it
    with ``set_body`` and saves after ``changed``, whichever feature the pane belongs to.

    Signals:
        changed(): the provider changed the pane (its draft is saved).
    """

    changed = Signal()

    @abstractmethod
    def body(self) -> dict[str, Any]:
        """The pane's contents as its draft."""

    @abstractmethod
    def set_body(self, body: Mapping[str, Any]) -> None:
        """Show a saved draft."""
