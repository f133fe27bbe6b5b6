"""A worker thread fed by a queue of one: the newest item wins, stale ones are dropped.

Callbacks call :meth:`LatestWorker.submit`, which never blocks on the work itself, so a model
slower than the sensor costs dropped frames (counted), not growing latency.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


class LatestWorker(Generic[ItemT]):
    """Runs ``handler(item)`` on its own thread for the newest submitted item.

    Args:
        handler: the work; exceptions it raises go to ``on_error`` and the worker keeps going.
        on_error: called with the item and the exception (default: ignore).
        name: thread name.

    Attributes:
        dropped: items replaced by a newer one before they were started.
        processed: items the handler finished (successfully or not).
    """

    def __init__(self, handler: Callable[[ItemT], None], *,
                 on_error: Callable[[ItemT, BaseException], None] | None = None,
                 name: str = "depth-worker") -> None:
        self._handler = handler
        self._on_error = on_error or (lambda item, err: None)
        self._cond = threading.Condition()
        self._slot: list[ItemT] = []  # zero or one pending item
        self._busy = False
        self._stopping = False
        self.dropped = 0
        self.processed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: ItemT) -> bool:
        """Queue ``item``, replacing a pending one; returns True when one was dropped."""
        with self._cond:
            replaced = bool(self._slot)
            self.dropped += int(replaced)
            self._slot[:] = [item]
            self._cond.notify()
        return replaced

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending or running; False on timeout (for tests and shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._slot and not self._busy, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Drop any pending item, let the running one finish and end the thread."""
        with self._cond:
            self._stopping = True
            self._slot.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._slot or self._stopping)
                if self._stopping:
                    return
                item = self._slot.pop()
                self._busy = True
            try:
                self._handler(item)
            except Exception as err:  # the worker must survive any bad frame
                self._on_error(item, err)
            finally:
                with self._cond:
                    self._busy = False
                    self.processed += 1
                    self._cond.notify_all()
