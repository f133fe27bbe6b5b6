"""Image-driven sync policy, table-driven with a fake clock (seconds)."""
from __future__ import annotations

import pytest

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.sync.policy import ImageDrivenSync, SyncConfig

CONFIG = SyncConfig(slop=0.05, max_wait=0.1, lidar_timeout=0.5, buffer_size=4)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(events):
    """Feed (kind, clock time, stamp) events; returns the releases after each event."""
    clock = FakeClock()
    sync = ImageDrivenSync(CONFIG, clock)
    out = []
    for kind, now, stamp in events:
        clock.now = now
        if kind == "cloud":
            frames = sync.add_cloud(stamp, f"c{stamp}")
        elif kind == "image":
            frames = sync.add_image(stamp, f"i{stamp}")
        else:
            frames = sync.poll()
        out.append([(f.image_stamp, f.cloud_stamp, f.reason) for f in frames])
    return sync, out


CASES = {
    "nearest cloud once a later one arrives": (
        [("cloud", 0.01, 0.0), ("image", 0.03, 0.02), ("cloud", 0.11, 0.1)],
        [[], [], [(0.02, 0.0, "matched")]]),
    "late cloud within max_wait": (
        [("cloud", 0.95, 0.9), ("image", 1.0, 1.0), ("poll", 1.03, None), ("cloud", 1.05, 1.01)],
        [[], [], [], [(1.0, 1.01, "matched")]]),
    "cloud already past the image: released at once": (
        [("cloud", 1.0, 1.02), ("image", 1.01, 1.0)],
        [[], [(1.0, 1.02, "matched")]]),
    "max_wait passes: earlier cloud within slop": (
        [("cloud", 0.98, 0.97), ("image", 1.0, 1.0), ("poll", 1.05, None), ("poll", 1.11, None)],
        [[], [], [], [(1.0, 0.97, "matched")]]),
    "max_wait passes: nothing within slop": (
        [("cloud", 0.95, 0.2), ("image", 1.0, 1.0), ("poll", 1.05, None), ("poll", 1.11, None)],
        [[], [], [], [(1.0, None, "unmatched")]]),
    "LiDAR stops then returns": (
        [("cloud", 0.1, 0.1), ("image", 0.12, 0.1), ("image", 0.7, 0.7), ("cloud", 1.0, 1.0),
         ("image", 1.02, 0.99), ("cloud", 1.1, 1.1)],
        [[], [(0.1, 0.1, "matched")], [(0.7, None, "lidar_timeout")], [],
         [(0.99, 1.0, "matched")], []]),
    "LiDAR dies while an image waits": (
        [("cloud", 0.0, 0.0), ("image", 0.45, 0.45), ("poll", 0.5, None)],
        [[], [], [(0.45, None, "lidar_timeout")]]),
    "a newer image releases the waiting one": (
        [("cloud", 0.98, 0.97), ("image", 1.0, 1.0), ("image", 1.05, 1.05)],
        [[], [], [(1.0, 0.97, "matched")]]),
    # KITTI's timing: each scan stamped 10 ms before the image it triggers, 10 Hz. From the
    # third cloud the period (0.1 s) is known: the next scan is due 90 ms after the image,
    # farther than the buffered one (10 ms), so the image goes at once instead of waiting.
    "period known: an image is served on arrival": (
        [("cloud", 0.001, 0.09), ("image", 0.002, 0.1), ("poll", 0.101, None),
         ("cloud", 0.101, 0.19), ("image", 0.102, 0.2), ("cloud", 0.201, 0.29),
         ("image", 0.202, 0.3), ("cloud", 0.301, 0.39), ("image", 0.302, 0.4)],
        [[], [], [], [(0.1, 0.09, "matched")], [], [(0.2, 0.19, "matched")],
         [(0.3, 0.29, "matched")], [], [(0.4, 0.39, "matched")]]),
    # The same period, the image 60 ms after the newest scan: the next one (due 40 ms after the
    # image) may be nearer, so the image waits for it.
    "period known: a nearer scan may come, the image waits": (
        [("cloud", 0.0, 0.0), ("cloud", 0.1, 0.1), ("cloud", 0.2, 0.2),
         ("image", 0.261, 0.26), ("cloud", 0.301, 0.3)],
        [[], [], [], [], [(0.26, 0.3, "matched")]]),
    # A 2 s dropout: the period is learnt afresh (the 1.8 s gap is not a period).
    "period forgotten over a dropout": (
        [("cloud", 0.0, 0.0), ("cloud", 0.1, 0.1), ("cloud", 0.2, 0.2),
         ("cloud", 2.2, 2.2), ("image", 2.215, 2.21), ("poll", 2.316, None),
         ("cloud", 2.316, 2.3), ("cloud", 2.4, 2.4), ("image", 2.415, 2.41)],
        [[], [], [], [], [], [(2.21, 2.2, "matched")], [], [], [(2.41, 2.4, "matched")]]),
    "stamps going backwards reset the buffer": (
        [("cloud", 0.0, 5.0), ("image", 0.01, 5.0), ("cloud", 0.1, 0.0), ("image", 0.11, 0.0)],
        [[], [(5.0, 5.0, "matched")], [], [(0.0, 0.0, "matched")]]),
}


# Start-up (no cloud received yet); the policy is constructed at clock 0, data flows from 10 s.
STARTUP_CASES = {
    "first image waits for its cloud after a long idle start": (
        [("image", 10.0, 1.0), ("poll", 10.05, None), ("cloud", 10.08, 1.01)],
        [[], [], [(1.0, 1.01, "matched")]]),
    "first image, cloud stamped before it, released after max_wait": (
        [("image", 10.0, 1.0), ("cloud", 10.02, 0.99), ("poll", 10.05, None),
         ("poll", 10.11, None)],
        [[], [], [], [(1.0, 0.99, "matched")]]),
    "camera alone: max_wait each, dropout lidar_timeout after the first image": (
        [("image", 10.0, 1.0), ("poll", 10.11, None), ("image", 10.3, 1.3), ("poll", 10.41, None),
         ("image", 10.5, 1.5), ("image", 10.6, 1.6)],
        [[], [(1.0, None, "unmatched")], [], [(1.3, None, "unmatched")],
         [(1.5, None, "lidar_timeout")], [(1.6, None, "lidar_timeout")]]),
    "first cloud after dropout: completion again": (
        [("image", 10.0, 1.0), ("image", 10.6, 1.6), ("cloud", 10.65, 1.65),
         ("image", 10.7, 1.7), ("cloud", 10.75, 1.71)],
        [[], [(1.0, None, "unmatched"), (1.6, None, "lidar_timeout")], [], [],
         [(1.7, 1.71, "matched")]]),
    "idle node with neither input stays out of dropout": (
        [("poll", 100.0, None)], [[]]),
}


@pytest.mark.parametrize("name", list(STARTUP_CASES))
def test_startup_table(name):
    events, expected = STARTUP_CASES[name]
    sync, out = run(events)
    assert out == expected


def test_startup_lidar_state_is_explicit():
    sync, _ = run([("poll", 100.0, None)])
    assert sync.lidar_alive() and sync.lidar_age() == pytest.approx(100.0)
    sync, _ = run([("image", 100.0, 1.0)])
    sync._clock.now = 100.49
    assert sync.lidar_alive()
    sync._clock.now = 100.5
    assert not sync.lidar_alive()


@pytest.mark.parametrize("name", list(CASES))
def test_policy_table(name):
    events, expected = CASES[name]
    assert run(events)[1] == expected


def test_buffer_is_bounded_and_counters_count():
    events = [("cloud", 0.01 * i, 0.01 * i) for i in range(10)]
    events += [("image", 0.1, 0.0), ("poll", 0.25, None)]
    sync, out = run(events)
    assert out[-2] == [(0.0, None, "unmatched")]  # cloud 0.0 left the 4-cloud buffer long ago
    assert sync.unmatched == 1 and sync.resets == 0
    sync, _ = run([("image", 0.0, 2.0), ("image", 0.1, 1.0)])
    assert sync.resets == 1


def test_lidar_age_follows_the_clock():
    sync, _ = run([("cloud", 2.0, 2.0)])
    sync._clock.now = 2.3
    assert sync.lidar_age() == pytest.approx(0.3) and sync.lidar_alive()


@pytest.mark.parametrize("kwargs", [{"slop": -1.0}, {"max_wait": float("inf")},
                                    {"lidar_timeout": float("nan")}, {"buffer_size": 0}])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        SyncConfig(**kwargs)


def test_clouds_leave_the_buffer_once_no_image_can_pair_with_them():
    """A cloud is held only while an image may still pair with it (memory: one huge cloud is
    not kept for the next ``buffer_size`` clouds)."""
    sync, out = run([("cloud", 0.0, 1.0), ("image", 0.01, 1.0), ("cloud", 0.1, 1.1),
                     ("cloud", 0.12, 1.12)])
    assert out[1] == [(1.0, 1.0, "matched")]
    assert [stamp for stamp, _ in sync._clouds] == [1.0, 1.1, 1.12]
    sync.add_image(1.1, "i1.1")  # images from 1.1 on pair within 0.05 s: 1.0 cannot
    assert [stamp for stamp, _ in sync._clouds] == [1.1, 1.12]


def test_the_buffer_is_emptied_when_the_lidar_counts_as_down():
    sync, _ = run([("cloud", 0.0, 1.0), ("poll", 0.4, None)])
    assert len(sync._clouds) == 1
    sync, out = run([("cloud", 0.0, 1.0), ("poll", 0.6, None), ("image", 0.7, 1.0)])
    assert not sync._clouds and out[-1] == [(1.0, None, "lidar_timeout")]
