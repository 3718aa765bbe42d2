"""Fixtures for widget tests: no widget may outlive its test; one bridge per test; a clock."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.hub_fixtures import Clock
from workstation.hub.server import RunningHub, start_hub
from workstation.ui.widgets.bridge import AsyncBridge

T = TypeVar("T")

NOW = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fail_on_leftover_widgets(qapp: QApplication) -> Iterator[None]:
    """A test that leaves a top-level widget behind fails (register them with qtbot.addWidget):
    leftovers keep timers and signal connections alive into the next test."""
    before = set(QApplication.topLevelWidgets())
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    left = [w for w in QApplication.topLevelWidgets() if w not in before]
    if left:
        names = ", ".join(sorted(type(w).__name__ for w in left))
        for widget in left:
            widget.close()
            widget.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        pytest.fail(f"The test left top-level widgets behind: {names}. "
                    "Give them to qtbot.addWidget().")


@pytest.fixture
def bridge(qapp: QApplication) -> Iterator[AsyncBridge]:
    b = AsyncBridge()
    yield b
    b.stop()


class FakeClock:
    """The time a view believes it is; tests move it instead of sleeping."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def run(bridge: AsyncBridge, qtbot: QtBot, coro: Coroutine[Any, Any, T]) -> T:
    """Run on the bridge's loop and wait (in the test only) for the answer."""
    results: list[T] = []
    errors: list[BaseException] = []
    bridge.submit(coro, results.append, errors.append)
    qtbot.waitUntil(lambda: bool(results or errors), timeout=10_000)
    if errors:
        raise errors[0]
    return results[0]


@pytest.fixture
def hub(bridge: AsyncBridge, qtbot: QtBot, sqlite_store, site, resources,  # type: ignore[no-untyped-def]
        ) -> Iterator[tuple[RunningHub, Clock]]:
    clock = Clock()
    running = run(bridge, qtbot, start_hub(sqlite_store, site, resources, embedded=True,
                                           clock=clock))
    bridge.add_cleanup(running.close)
    yield running, clock
