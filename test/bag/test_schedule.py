"""Replay timing and remapping (pure)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from depth_completion_ros.bag.schedule import ReplayOptions, due_offsets, parse_remaps
from depth_completion_ros.errors import InputError


@dataclass(frozen=True)
class Msg:
    log_time_ns: int


STAMPS = [Msg(10_000_000_000), Msg(10_100_000_000), Msg(10_250_000_000), Msg(11_000_000_000)]


@pytest.mark.parametrize("options, expected", [
    (ReplayOptions(), [0.0, 0.1, 0.25, 1.0]),
    (ReplayOptions(rate=2.0), [0.0, 0.05, 0.125, 0.5]),
    (ReplayOptions(start_offset_s=0.1), [0.0, 0.15, 0.9]),
    (ReplayOptions(rate=0.5, start_offset_s=0.2), [0.1, 1.6]),
])
def test_due_offsets_follow_bag_time(options: ReplayOptions, expected: list[float]) -> None:
    got = [offset for _, offset in due_offsets(iter(STAMPS), options)]
    assert got == pytest.approx(expected)


def test_due_offsets_keep_the_messages() -> None:
    kept = [m for m, _ in due_offsets(STAMPS, ReplayOptions(start_offset_s=0.2))]
    assert kept == STAMPS[2:]


def test_remaps_parse_and_apply() -> None:
    options = ReplayOptions(remap=parse_remaps(["/a:=/b", "/c:=/ns/c"]))
    assert (options.topic("/a"), options.topic("/c"), options.topic("/x")) == ("/b", "/ns/c", "/x")


@pytest.mark.parametrize("bad", ["/a", "/a:=", ":=/b", "/a=/b"])
def test_malformed_remap_raises(bad: str) -> None:
    with pytest.raises(InputError, match="FROM:=TO"):
        parse_remaps([bad])


@pytest.mark.parametrize("options, passes", [
    (ReplayOptions(), 1), (ReplayOptions(loop=True), None), (ReplayOptions(max_loops=3), 3),
])
def test_passes(options: ReplayOptions, passes: int | None) -> None:
    assert options.passes() == passes


@pytest.mark.parametrize("kwargs", [{"rate": 0.0}, {"rate": float("nan")},
                                    {"start_offset_s": -1.0}, {"max_loops": 0}])
def test_bad_options_raise(kwargs: dict) -> None:
    with pytest.raises(InputError):
        ReplayOptions(**kwargs)
