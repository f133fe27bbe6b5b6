"""Queue-of-one worker: newest wins, stale items dropped and counted, errors survive."""
from __future__ import annotations

import threading

from depth_completion_ros.sync.worker import LatestWorker


def test_newest_item_wins_while_busy():
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def handler(item: str) -> None:
        started.set()
        release.wait(5)
        done.append(item)

    worker = LatestWorker(handler)
    worker.submit("a")
    assert started.wait(5)
    assert worker.submit("b") is False  # slot was empty: nothing dropped
    assert worker.submit("c") is True   # "b" never started
    release.set()
    assert worker.wait_idle(5)
    worker.stop()
    assert done == ["a", "c"]
    assert (worker.dropped, worker.processed) == (1, 2)


def test_handler_errors_are_reported_and_the_worker_goes_on():
    errors: list[tuple[int, str]] = []
    done: list[int] = []

    def handler(item: int) -> None:
        if item == 1:
            raise ValueError("bad frame")
        done.append(item)

    worker = LatestWorker(handler, on_error=lambda item, err: errors.append((item, str(err))))
    for item in (1, 2):
        worker.submit(item)
        assert worker.wait_idle(5)
    worker.stop()
    assert errors == [(1, "bad frame")] and done == [2]
