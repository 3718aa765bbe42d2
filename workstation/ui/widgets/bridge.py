"""The one bridge between the Qt GUI thread and the asyncio thread.

The GUI submits coroutines; they run on a single daemon thread that owns its own event loop.
Results, errors and stream items come back through one Qt signal, queued to the GUI thread, so
every callback runs where widgets may be touched. Nothing here blocks the GUI thread except
:meth:`AsyncBridge.stop` at shutdown.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
FINISH_TIMEOUT = 5.0  # seconds shutdown waits for finish_before_exit work

Job = concurrent.futures.Future[Any]
"""What submit() and stream() return: ``job.cancel()`` cancels the work on the loop."""

_SUCCESS, _FAILURE, _ITEM = "success", "failure", "item"


class AsyncBridge(QObject):
    """Owns the asyncio thread and carries work and results across it.

    Signals:
        delivered(object, str, object): internal; (callback, kind, value) emitted on the
            asyncio thread and received on the GUI thread through a queued connection.
    """

    delivered = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stopped = False
        self._jobs: set[Job] = set()
        self._tasks: set[asyncio.Task[Any]] = set()  # touched on the loop thread only
        self._cleanups: list[Callable[[], Awaitable[object]]] = []
        self._must_finish: set[asyncio.Task[Any]] = set()  # touched on the loop thread only
        # Queued explicitly: the emitter is the asyncio thread, the slot must run on ours.
        self.delivered.connect(self._on_self_delivered, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._run, name="asyncio", daemon=True)
        self._thread.start()
        self._started.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop of the asyncio thread, e.g. to start the embedded hub inside it."""
        return self._loop

    @property
    def running(self) -> bool:
        return not self._stopped

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._started.set)
        self._loop.run_forever()

    # -- work -----------------------------------------------------------------------------

    def submit(
        self, coro: Coroutine[Any, Any, T], on_success: Callable[[T], object] | None = None,
        on_failure: Callable[[BaseException], object] | None = None,
    ) -> Job:
        """Run ``coro`` on the loop and return at once.

        ``on_success(result)`` or ``on_failure(exception)`` is then called on the GUI thread.
        A failure without ``on_failure`` is logged. Cancelled jobs call neither.
        """
        if self._stopped:
            coro.close()
            raise RuntimeError("The bridge has been stopped.")
        job = asyncio.run_coroutine_threadsafe(self._tracked(coro), self._loop)
        self._track(job, on_success, on_failure)
        return job

    async def _tracked(self, coro: Coroutine[Any, Any, T]) -> T:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await coro
        finally:
            self._tasks.discard(task)

    def stream(
        self, items: AsyncIterable[T], on_item: Callable[[T], object],
        on_failure: Callable[[BaseException], object] | None = None,
        on_finished: Callable[[None], object] | None = None,
    ) -> Job:
        """Iterate ``items`` on the loop, calling ``on_item(item)`` on the GUI thread for each,
        in order. ``on_finished`` follows when the iterable ends, ``on_failure`` if it raises.
        ``job.cancel()`` stops the iteration (the async generator is closed properly)."""

        async def pump() -> None:
            async for item in items:
                self._deliver(on_item, _ITEM, item)

        return self.submit(pump(), on_finished, on_failure)

    def add_cleanup(self, cleanup: Callable[[], Awaitable[object]]) -> None:
        """Have :meth:`stop` await ``cleanup()`` on the loop (last added runs first), after the
        bridge's jobs are cancelled and before the loop stops: closing the hub client, the
        embedded hub, peer connections."""
        self._cleanups.append(cleanup)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the jobs, run the cleanups, cancel what is left, stop and join the thread.

        Blocks the caller (the GUI thread, at shutdown) for at most about ``timeout`` seconds.
        Callbacks of jobs still in flight are dropped: their widgets may be gone.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
        except (TimeoutError, concurrent.futures.TimeoutError):
            log.warning("The asyncio thread did not shut down within %.0f s", timeout)
        except Exception:
            log.exception("Shutting down the asyncio thread failed")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def finish_before_exit(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the loop with no answer to the GUI; shutting down waits for it
        (within the stop timeout) instead of cancelling it: hanging up a call, releasing a
        camera, closing sockets."""
        if self._stopped:
            coro.close()
            return

        def start() -> None:
            task = self._loop.create_task(coro)
            self._must_finish.add(task)
            task.add_done_callback(self._must_finish.discard)
            task.add_done_callback(_log_failure)

        self._loop.call_soon_threadsafe(start)

    async def _shutdown(self) -> None:
        if self._must_finish:
            await asyncio.wait(set(self._must_finish), timeout=FINISH_TIMEOUT)
        jobs = set(self._tasks)
        for task in jobs:
            task.cancel()
        await _settle(jobs)
        for cleanup in reversed(self._cleanups):
            try:
                await cleanup()
            except Exception:
                log.exception("A shutdown step failed")
        tasks = _other_tasks()
        for task in tasks:
            task.cancel()
        await _settle(tasks)
        await self._loop.shutdown_asyncgens()

    # -- delivery -------------------------------------------------------------------------

    def _track(self, job: Job, on_success: Callable[[Any], object] | None,
               on_failure: Callable[[BaseException], object] | None) -> None:
        self._jobs.add(job)

        def done(finished: Job) -> None:
            self._jobs.discard(finished)
            if finished.cancelled():
                return
            error = finished.exception()
            if error is None:
                self._deliver(on_success, _SUCCESS, finished.result())
            else:
                self._deliver(on_failure, _FAILURE, error)

        job.add_done_callback(done)

    def _deliver(self, callback: Callable[[Any], object] | None, kind: str,
                 value: object) -> None:
        if self._stopped:
            return
        if callback is None and kind != _FAILURE:
            return
        self.delivered.emit(callback, kind, value)

    def _on_self_delivered(self, callback: Callable[[Any], object] | None, kind: str,
                           value: object) -> None:
        if self._stopped:
            return
        if callback is None:
            log.error("Background work failed", exc_info=value)  # type: ignore[arg-type]
            return
        callback(value)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Work finished before exit failed", exc_info=task.exception())


def _other_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


async def _settle(tasks: set[asyncio.Task[Any]]) -> None:
    if tasks:
        await asyncio.wait(tasks, timeout=2.0)
