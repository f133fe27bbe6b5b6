"""Spin nodes in a background thread, and stop in the order rclpy needs.

rclpy's ``Executor.shutdown`` destroys the executor's guard condition without waiting for the
callbacks it has already handed out (in rclpy 9.1 the wait it documents is never reached). A
callback that runs after that triggers the destroyed guard when it takes its message; its task
then holds ``InvalidHandle("cannot use Destroyable because destruction was requested")``, which
rclpy prints as "The following exception was never retrieved" when the task is collected (a
multi-threaded executor), or which kills the spin thread (a single-threaded one).

:class:`BackgroundSpinner` therefore stops its loop and joins its thread first: its
single-threaded executor runs every callback inline, so once the thread has ended no callback is
in flight. Only then is the executor shut down; the caller destroys the nodes after that.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable

from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


class BackgroundSpinner:
    """A single-threaded executor spinning some nodes in a daemon thread until :meth:`stop`.

    Args:
        nodes: the nodes to spin (:meth:`add_node` adds more).
        context: their rclpy context (the default context when None).
        period_s: longest wait for work per turn, seconds (how soon :meth:`stop` is noticed).

    Example (teardown order)::

        spinner = BackgroundSpinner([node])
        try:
            ...  # the node works
        finally:
            spinner.stop()       # no callback runs or is pending after this
            node.destroy_node()
    """

    def __init__(self, nodes: Iterable[Node] = (), *, context: Context | None = None,
                 period_s: float = 0.05) -> None:
        self.executor = SingleThreadedExecutor(context=context)
        for node in nodes:
            self.executor.add_node(node)
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="background-spinner",
                                        daemon=True)
        self._thread.start()

    def add_node(self, node: Node) -> None:
        """Spin ``node`` too."""
        self.executor.add_node(node)

    def remove_node(self, node: Node) -> None:
        """Stop spinning ``node`` (its callback in progress, if any, still completes)."""
        self.executor.remove_node(node)

    def _spin(self) -> None:
        try:
            while not self._stop.is_set() and self.executor.context.ok():
                self.executor.spin_once(timeout_sec=self._period_s)
        except ExternalShutdownException:
            pass  # the context was shut down under us: nothing left to spin

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop spinning, wait for the callback in progress, then shut the executor down.

        Args:
            timeout_s: longest wait for the callback in progress, seconds.

        Returns:
            True when stopped; False when a callback was still running after ``timeout_s`` (the
            executor is then left as it is: shutting it down would race that callback).
        """
        self._stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return False
        self.executor.shutdown()
        return True
