"""The bridge runs coroutines on its own thread and answers on the GUI thread."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from workstation.ui.widgets.bridge import AsyncBridge


def on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()  # type: ignore[union-attr]


def test_submit_returns_at_once_and_delivers_on_the_gui_thread(bridge: AsyncBridge,
                                                               qtbot: QtBot):
    release = asyncio.Event()
    ran_on: list[int] = []
    results: list[tuple[str, bool]] = []

    async def work() -> str:
        ran_on.append(threading.get_ident())
        await release.wait()
        return "done"

    job = bridge.submit(work(), lambda value: results.append((value, on_gui_thread())))
    assert not job.done()  # submit did not wait for the work

    bridge.loop.call_soon_threadsafe(release.set)
    qtbot.waitUntil(lambda: results == [("done", True)])
    assert ran_on and ran_on[0] != threading.get_ident()


def test_failures_are_delivered_on_the_gui_thread(bridge: AsyncBridge, qtbot: QtBot):
    failures: list[tuple[BaseException, bool]] = []

    async def work() -> None:
        raise ValueError("the hub said no")

    bridge.submit(work(), lambda _v: pytest.fail("no success expected"),
                  lambda exc: failures.append((exc, on_gui_thread())))

    qtbot.waitUntil(lambda: len(failures) == 1)
    error, gui = failures[0]
    assert isinstance(error, ValueError) and str(error) == "the hub said no"
    assert gui


def test_a_failure_nobody_handles_is_logged(bridge: AsyncBridge, qtbot: QtBot,
                                            caplog: pytest.LogCaptureFixture):
    async def work() -> None:
        raise ValueError("unhandled")

    with caplog.at_level(logging.ERROR, logger="workstation.ui.widgets.bridge"):
        bridge.submit(work())
        qtbot.waitUntil(lambda: "Background work failed" in caplog.text)


def test_stream_items_arrive_in_order_on_the_gui_thread(bridge: AsyncBridge, qtbot: QtBot):
    items: list[tuple[int, bool]] = []
    finished: list[bool] = []

    async def numbers() -> AsyncIterator[int]:
        for n in range(5):
            await asyncio.sleep(0)
            yield n

    bridge.stream(numbers(), lambda n: items.append((n, on_gui_thread())),
                  on_finished=lambda _none: finished.append(on_gui_thread()))

    qtbot.waitUntil(lambda: finished == [True])
    assert items == [(n, True) for n in range(5)]


def test_cancelling_a_stream_closes_the_generator(bridge: AsyncBridge, qtbot: QtBot):
    closed = threading.Event()
    items: list[int] = []

    async def forever() -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    job = bridge.stream(forever(), items.append,
                        on_failure=lambda exc: pytest.fail(f"unexpected {exc!r}"))
    qtbot.waitUntil(lambda: len(items) >= 2)
    job.cancel()

    qtbot.waitUntil(closed.is_set)


def test_stop_cancels_pending_work_runs_cleanups_and_joins(qapp: QApplication):
    bridge = AsyncBridge()
    cancelled = threading.Event()
    cleaned: list[str] = []
    delivered: list[object] = []

    async def never_ends() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def first() -> None:
        cleaned.append("first")

    async def second() -> None:
        cleaned.append("second")

    bridge.add_cleanup(first)
    bridge.add_cleanup(second)
    bridge.submit(never_ends(), delivered.append, delivered.append)

    bridge.stop()

    assert cancelled.is_set()
    assert cleaned == ["second", "first"]  # last added, first run
    assert not bridge._thread.is_alive()
    assert bridge.loop.is_closed()
    QApplication.processEvents()
    assert delivered == []  # nothing is delivered after stop
    with pytest.raises(RuntimeError):
        bridge.submit(first())
