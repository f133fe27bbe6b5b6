"""OversizeRelease: which messages open a release window, what it does to the allocator."""
from __future__ import annotations

import platform

import pytest

from depth_completion_ros.runtime.memory import (
    TRIM_THRESHOLD,
    TRIM_THRESHOLD_RELEASING,
    Allocator,
    OversizeRelease,
)

MB = 1 << 20


class FakeAllocator:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def trim(self) -> bool:
        self.calls.append(("trim", 0))
        return True

    def set_trim_threshold(self, nbytes: int) -> None:
        self.calls.append(("threshold", nbytes))


def test_usual_sizes_never_trim_even_when_big():
    fake = FakeAllocator()
    release = OversizeRelease(fake)  # type: ignore[arg-type]
    for i in range(50):  # an OS-128 at 12 MB per cloud, 10 Hz
        assert not release.note("points", 12 * MB + (i % 3), now=0.1 * i) or i == 0
    fake.calls.clear()
    assert not any(release.tick(now) for now in (20.0, 21.0))
    assert fake.calls == [("threshold", TRIM_THRESHOLD)]  # the first cloud's window closing


def test_an_oversized_message_lowers_the_threshold_trims_then_restores():
    fake = FakeAllocator()
    release = OversizeRelease(fake, window_s=3.0)  # type: ignore[arg-type]
    for i in range(10):
        release.note("points", 2 * MB, now=0.1 * i)
    assert release.note("points", 32 * MB, now=1.0)
    assert fake.calls == [("threshold", TRIM_THRESHOLD_RELEASING)]
    assert [release.tick(t) for t in (2.0, 3.0, 4.0, 5.0, 6.0)] == [True, True, True, False,
                                                                   False]
    assert fake.calls[1:] == [("trim", 0)] * 3 + [("threshold", TRIM_THRESHOLD)]
    assert release.releases == 3


def test_small_messages_below_the_floor_never_trigger():
    release = OversizeRelease(FakeAllocator(), floor_bytes=4 * MB)  # type: ignore[arg-type]
    assert not release.note("image", 3 * MB, now=0.0)  # first message, 3 MB: below the floor
    assert not release.note("image", 100, now=0.1) and not release.tick(0.5)


@pytest.mark.skipif(platform.system() != "Linux" or not platform.libc_ver()[0] == "glibc",
                    reason="glibc only")
def test_the_glibc_allocator_is_found_and_callable():
    allocator = Allocator()
    assert allocator.available
    allocator.set_trim_threshold(TRIM_THRESHOLD)
    assert allocator.trim() in (True, False)
