"""Named image buffers reused from frame to frame, so a model allocates no full-image
temporaries in steady state.

A fresh (H, W) array of a megabyte or more comes from ``mmap`` under glibc's default allocator
settings, and touching it costs a page fault per 4 KiB page: measured on the classical model at
1216x352, those faults took about half of its time. A :class:`Workspace` keeps one buffer per
name and dtype with room for the largest image seen; a smaller request is a view of its first
rows (contiguous, since rows are the first axis), so frames whose top measured row moves reuse
the same memory.

Not thread-safe: one workspace per model instance, and the model holds a lock around its use.

Example:
    >>> ws = Workspace()
    >>> a = ws.get("a", (4, 3), np.float32)
    >>> b = ws.get("a", (2, 3), np.float32)  # fewer rows: a view of the same memory
    >>> bool(np.shares_memory(a, b)), b.shape
    (True, (2, 3))
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from depth_completion_ros.arrays import Array


class Workspace:
    """Reusable buffers by name; see the module docstring."""

    def __init__(self) -> None:
        self._buffers: dict[str, Array] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> Array:
        """An uninitialised (rows, cols) buffer of ``dtype``, contiguous.

        Reallocated when the width or dtype changes or more rows are needed than any earlier
        request of ``name`` asked for; otherwise a view of the first ``rows`` rows.
        """
        rows, cols = shape  # (H, W) images only
        buf = self._buffers.get(name)
        if buf is None or buf.shape[1] != cols or buf.shape[0] < rows or buf.dtype != dtype:
            buf = np.empty((max(rows, 1), cols), dtype)
            self._buffers[name] = buf
        return buf[:rows]

    def constant(self, name: str, shape: tuple[int, ...], dtype: Any,
                 fill: Callable[[Array], None]) -> Array:
        """:meth:`get` of a buffer whose values ``fill`` writes once, into the whole buffer, when
        it is (re)allocated: for images whose first rows do not depend on the row count."""
        before = self._buffers.get(name)
        buf = self.get(name, shape, dtype)
        if self._buffers[name] is not before:
            fill(self._buffers[name])
        return buf

    def zeros(self, name: str, shape: tuple[int, ...], dtype: Any) -> Array:
        """:meth:`get`, filled with 0."""
        buf = self.get(name, shape, dtype)
        buf.fill(0)
        return buf

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return sum(buf.nbytes for buf in self._buffers.values())
