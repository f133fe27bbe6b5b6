"""BackgroundSpinner: stopping leaves no callback running or handed out, so destroying the nodes
afterwards is safe (no "cannot use Destroyable because destruction was requested")."""
from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from depth_completion_ros.ros.spinning import BackgroundSpinner


def _wait_for(predicate, timeout_s: float = 30.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not predicate():
        time.sleep(0.01)
    return predicate()


def _busy(calls: list[int]) -> Callable[[], None]:
    """A timer callback that counts its calls and works 2 ms."""
    def callback() -> None:
        calls.append(1)
        time.sleep(0.002)
    return callback


def test_stop_leaves_no_callback_in_flight(ros_context, capfd: pytest.CaptureFixture) -> None:
    """Busy timers (1 ms, 2 ms of work each): stop, then destroy the node, ten times. Shutting a
    MultiThreadedExecutor down while it spins (the old teardown of the test fixtures and of
    ``run_live``) printed "The following exception was never retrieved: cannot use Destroyable
    because destruction was requested" in about half of such trials."""
    from rclpy.node import Node
    for trial in range(10):
        node = Node(f"busy_{trial}", context=ros_context[0])
        calls: list[int] = []
        for _ in range(4):
            node.create_timer(0.001, _busy(calls))
        spinner = BackgroundSpinner([node], context=ros_context[0])
        assert _wait_for(lambda: len(calls) >= 20)  # noqa: B023 (waited for in this turn)
        assert spinner.stop()
        done = len(calls)
        time.sleep(0.05)
        assert len(calls) == done  # nothing runs after stop()
        node.destroy_node()
        del spinner
    gc.collect()
    err = capfd.readouterr().err
    assert "never retrieved" not in err and "Destroyable" not in err
    assert "Exception in thread" not in err
