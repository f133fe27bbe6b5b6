"""Give the memory of an oversized message back to the operating system once it is processed.

One 2-million-point cloud (32 MB on the wire) makes every buffer of its frame (the decoded
copy, the projection's candidates and pixels, the z-buffer order) tens of MB. numpy frees them
after the frame, but glibc's allocator keeps them: its mmap threshold rises to the largest block
ever freed (up to 32 MB), so blocks that size come from the heaps afterwards, and a heap gives
its free top back only beyond a trim threshold that rose with it (twice the mmap threshold);
``malloc_trim`` returns the free pages inside the heaps but not the free top of a thread's
arena (the worker thread's, where the frame ran). The node then stayed ~100 MB larger for the
rest of the run. :class:`OversizeRelease` watches message sizes; after a message much larger
than the usual ones it drops the trim threshold (every freed top goes back at ``free``) and
calls ``malloc_trim`` once a second for a while (by then the frame is done and its buffers are
free), then restores the threshold; a normal frame never pays for it. The mmap threshold is
pinned at glibc's own ceiling, so normal frames allocate as with the warmed-up default (setting
either threshold ends glibc's adjustment of both). Without glibc (macOS, musl) nothing happens.

Example:
    >>> release = OversizeRelease(floor_bytes=100, window_s=2.0)
    >>> [release.note("points", 80, now=0.0) for _ in range(3)]  # usual sizes
    [False, False, False]
    >>> release.note("points", 1_000, now=1.0)  # 12 times the usual: oversized
    True
    >>> release.tick(now=1.5), release.tick(now=2.5), release.tick(now=3.5)
    (True, True, False)
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import deque
from typing import Any

import numpy as np

#: mallopt parameters (glibc malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: glibc's own ceiling of its dynamic mmap threshold (64-bit): blocks up to this size come from
#: the heap once the process has freed one that large; pinned here, so frames run as fast as
#: with the warmed-up default
MMAP_THRESHOLD = 32 << 20
#: trim threshold outside a release window: twice the mmap threshold, glibc's own rule
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
#: trim threshold inside a release window: every freed block at the top of a heap is returned
TRIM_THRESHOLD_RELEASING = 128 << 10


class Allocator:
    """glibc's ``malloc_trim`` and ``mallopt`` through ctypes; every call a no-op elsewhere."""

    def __init__(self) -> None:
        self._trim: Any = None
        self._opt: Any = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            trim, opt = libc.malloc_trim, libc.mallopt
        except (OSError, AttributeError):
            return
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
        opt.argtypes, opt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        self._trim, self._opt = trim, opt

    @property
    def available(self) -> bool:
        """True where glibc's malloc is in use."""
        return self._trim is not None

    def trim(self) -> bool:
        """Return the free pages of every arena to the system; True when some were."""
        return bool(self._trim(0)) if self._trim is not None else False

    def set_trim_threshold(self, nbytes: int) -> None:
        """Free space at the top of a heap beyond ``nbytes`` goes back to the system at free();
        pins the mmap threshold at :data:`MMAP_THRESHOLD` too (setting one disables glibc's
        dynamic adjustment of both)."""
        if self._opt is not None:
            self._opt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            self._opt(M_TRIM_THRESHOLD, nbytes)


class OversizeRelease:
    """Watches message sizes per topic; after an oversized message it lowers the allocator's
    trim threshold and calls ``malloc_trim`` on each :meth:`tick` (the node calls it once a
    second) for ``window_s`` seconds, then restores the threshold.

    Oversized: more than ``factor`` times the median of the topic's last ``history`` sizes and
    more than ``floor_bytes`` (so a steady stream of big clouds, an OS-128 at 12 MB each, is the
    usual size and triggers nothing).

    Args:
        allocator: glibc's allocator controls (None: only count, for tests).
        floor_bytes: messages at or below this size never trigger a release.
        factor: how much larger than the usual size a message must be.
        window_s: how long after the oversized message to keep releasing, seconds (long enough
            for its frame to be processed and its cloud to leave the sync buffer).
        history: sizes remembered per topic.

    Attributes:
        releases: ticks that released memory.
    """

    def __init__(self, allocator: Allocator | None = None, *, floor_bytes: int = 4 << 20,
                 factor: float = 2.0, window_s: float = 10.0, history: int = 32) -> None:
        self._allocator = allocator
        self._floor, self._factor, self._window = floor_bytes, factor, window_s
        self._history = history
        self._sizes: dict[str, deque[int]] = {}
        self._until: float | None = None
        self._lock = threading.Lock()
        self.releases = 0

    def note(self, topic: str, nbytes: int, now: float) -> bool:
        """A message of ``nbytes`` arrived on ``topic`` at ``now`` (seconds); True when it is
        oversized (the release window opens, the trim threshold drops at once)."""
        with self._lock:
            sizes = self._sizes.setdefault(topic, deque(maxlen=self._history))
            usual = float(np.median(sizes)) if sizes else 0.0
            sizes.append(nbytes)
            if not (nbytes > self._floor and nbytes > self._factor * usual):
                return False
            if self._until is None and self._allocator is not None:
                self._allocator.set_trim_threshold(TRIM_THRESHOLD_RELEASING)
            self._until = now + self._window
            return True

    def tick(self, now: float) -> bool:
        """Inside a window: trim, True. After it: restore the trim threshold once, False."""
        with self._lock:
            until = self._until
            if until is not None and now > until:
                self._until = None
                if self._allocator is not None:
                    self._allocator.set_trim_threshold(TRIM_THRESHOLD)
        if until is None or now > until:
            return False
        if self._allocator is not None:
            self._allocator.trim()
        self.releases += 1
        return True
