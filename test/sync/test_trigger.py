"""Image- or LiDAR-driven release of frames (``sync/trigger.py``), table-driven with a fake
clock (seconds): events are (kind, clock time, stamp), each release (image stamp, cloud stamp,
reason); a LiDAR-driven frame has no image and the cloud's stamp."""
from __future__ import annotations

import pytest

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.sync.policy import SyncConfig
from depth_completion_ros.sync.trigger import TriggeredSync


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(trigger: str, needs_image: bool, events: list[tuple[str, float, float | None]]):
    """Feed the events; returns the policy and the releases after each event."""
    clock = FakeClock()
    sync: TriggeredSync[str, str] = TriggeredSync(
        SyncConfig(slop=0.05, max_wait=0.1, lidar_timeout=0.5, image_timeout=0.5,
                   trigger=trigger), clock, needs_image=needs_image)
    out = []
    for kind, now, stamp in events:
        clock.now = now
        if kind == "cloud":
            assert stamp is not None
            frames = sync.add_cloud(stamp, f"c{stamp}")
        elif kind == "image":
            assert stamp is not None
            frames = sync.add_image(stamp, f"i{stamp}")
        else:
            frames = sync.poll()
        for f in frames:
            assert (f.image is None) == (f.reason == "lidar_driven")
            assert f.cloud is None or f.cloud == f"c{f.cloud_stamp}"
        out.append([(f.image_stamp, f.cloud_stamp, str(f.reason)) for f in frames])
    return sync, out


ALONE = "lidar_driven"
CASES = {
    "lidar: every cloud at once, images ignored": (
        "lidar", False,
        [("cloud", 0.0, 10.0), ("image", 0.02, 10.0), ("poll", 0.2, None), ("cloud", 0.1, 10.1)],
        [[(10.0, 10.0, ALONE)], [], [], [(10.1, 10.1, ALONE)]]),
    "auto, no image ever: the newest cloud at the switch, then each on arrival": (
        "auto", False,
        [("cloud", 0.0, 10.0), ("cloud", 0.1, 10.1), ("poll", 0.49, None), ("cloud", 0.3, 10.3),
         ("poll", 0.5, None), ("poll", 0.6, None), ("cloud", 0.61, 10.6)],
        [[], [], [], [], [(10.3, 10.3, ALONE)], [], [(10.6, 10.6, ALONE)]]),
    "auto, a model that needs an image: never LiDAR-driven": (
        "auto", True,
        [("cloud", 0.0, 10.0), ("poll", 5.0, None), ("cloud", 5.0, 15.0)],
        [[], [], []]),
    "image: never LiDAR-driven, even with a model that needs no image": (
        "image", False,
        [("cloud", 0.0, 10.0), ("poll", 5.0, None), ("cloud", 5.0, 15.0)],
        [[], [], []]),
    "auto: the camera stops, LiDAR-driven after image_timeout, an image switches back": (
        "auto", False,
        [("cloud", 0.0, 10.0), ("image", 0.01, 10.0), ("cloud", 0.1, 10.1),
         ("cloud", 0.2, 10.2), ("poll", 0.5, None), ("poll", 0.52, None),
         ("cloud", 0.6, 10.6), ("image", 0.65, 10.6), ("cloud", 0.7, 10.7),
         ("poll", 0.8, None)],
        [[], [(10.0, 10.0, "matched")], [], [], [], [(10.2, 10.2, ALONE)],
         [(10.6, 10.6, ALONE)], [(10.6, 10.6, "matched")], [], []]),
    "auto: a cloud an image may have used is not served again at the switch": (
        "auto", False,
        [("image", 0.0, 10.0), ("cloud", 0.02, 10.03), ("poll", 0.6, None),
         ("cloud", 0.7, 10.7)],
        [[], [(10.0, 10.03, "matched")], [], [(10.7, 10.7, ALONE)]]),
}


@pytest.mark.parametrize("name", CASES)
def test_release(name):
    trigger, needs_image, events, expected = CASES[name]
    _, out = run(trigger, needs_image, events)
    assert out == expected


def test_lidar_trigger_counts_ignored_images_and_keeps_one_cloud():
    sync, _ = run("lidar", False, [("image", 0.0, 1.0)] +
                  [("cloud", 0.1 * i, 1.0 + 0.1 * i) for i in range(20)])
    assert sync.ignored_images == 1
    assert len(sync.images._clouds) == 1  # only the newest cloud stays buffered


def test_stamps_backwards_keep_serving_clouds():
    sync, out = run("lidar", False, [("cloud", 0.0, 10.0), ("cloud", 0.1, 3.0),
                                     ("cloud", 0.2, 3.1)])
    assert sync.resets == 1
    assert out == [[(10.0, 10.0, ALONE)], [(3.0, 3.0, ALONE)], [(3.1, 3.1, ALONE)]]


def test_model_change_switches_auto_back_to_image_driven():
    clock = FakeClock()
    sync: TriggeredSync[str, str] = TriggeredSync(SyncConfig(), clock, needs_image=False)
    sync.add_cloud(1.0, "a")
    clock.now = 1.0
    assert sync.lidar_driven()
    sync.needs_image = True
    assert not sync.lidar_driven() and sync.add_cloud(2.0, "b") == []


def test_trigger_and_image_timeout_checked():
    with pytest.raises(ConfigError, match="trigger"):
        SyncConfig(trigger="camera")
    with pytest.raises(ConfigError, match="image_timeout"):
        SyncConfig(image_timeout=-1.0)


def replay(config: SyncConfig, rate: float,
           cloud_first: bool) -> list[tuple[float, float | None, str]]:
    """The releases of four 10 Hz frames (image and cloud of one stamp, 5 ms apart on the
    clock, the image first unless ``cloud_first``) replayed at ``rate``, polled every 20 ms; the
    model needs no image (``nearest``: ``auto`` may go LiDAR-driven)."""
    clock = FakeClock()
    sync: TriggeredSync[str, str] = TriggeredSync(config, clock, needs_image=False)
    events = []
    for k in range(4):
        stamp, due = 100.0 + 0.1 * k, 0.1 * k / rate
        first, second = ("cloud", "image") if cloud_first else ("image", "cloud")
        events += [(due, first, stamp), (due + 0.005, second, stamp)]
        polls = range(1, int(0.1 / rate / 0.02))
        events += [(due + 0.005 + 0.02 * i, "poll", stamp) for i in polls]
    released = []
    for now, kind, stamp in sorted(events):
        clock.now = now
        frames = sync.add_cloud(stamp, "c") if kind == "cloud" else \
            sync.add_image(stamp, "i") if kind == "image" else sync.poll()
        released += [(round(f.image_stamp, 3), None if f.cloud_stamp is None else
                      round(f.cloud_stamp, 3), str(f.reason)) for f in frames]
    return released


@pytest.mark.parametrize("cloud_first", [False, True])
def test_a_slowed_replay_pairs_as_real_time_with_the_timeouts_scaled(cloud_first):
    """``evaluate --online --rate 0.125`` (test/evaluation/test_raw_images.py): a 10 Hz LiDAR
    then arrives every 0.8 s, past lidar_timeout and image_timeout (0.5 s). Unscaled, an image
    that arrives before its cloud goes alone (lidar_timeout, served from the previous scan) and
    a cloud that arrives before its image is served alone too (lidar_driven); with
    ``at_rate`` every image pairs with its own cloud, as at real time."""
    config = SyncConfig()
    real_time = replay(config, 1.0, cloud_first)
    assert real_time == [(s, s, "matched") for s in (100.0, 100.1, 100.2, 100.3)]
    assert replay(config.at_rate(0.125), 0.125, cloud_first) == real_time
    assert replay(config.at_rate(0.25), 0.25, cloud_first) == real_time
    unscaled = replay(config, 0.125, cloud_first)
    if cloud_first:
        assert unscaled == [(100.0, 100.0, "matched")] + [
            item for s in (100.1, 100.2, 100.3)
            for item in ((s, s, "lidar_driven"), (s, s, "matched"))]
    else:
        assert unscaled == [(100.0, 100.0, "matched")] + [
            (s, None, "lidar_timeout") for s in (100.1, 100.2, 100.3)]


def test_at_rate_divides_the_clock_timeouts_only():
    config = SyncConfig(slop=0.04, max_wait=0.1, lidar_timeout=0.5, buffer_size=3,
                        trigger="image", image_timeout=0.3)
    slowed = config.at_rate(0.125)
    assert (slowed.max_wait, slowed.lidar_timeout, slowed.image_timeout) == (0.8, 4.0, 2.4)
    assert (slowed.slop, slowed.buffer_size, slowed.trigger) == (0.04, 3, "image")
    assert config.at_rate(2.0).max_wait == 0.05 and config.at_rate(1.0) == config
    for rate in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="replay rate"):
            config.at_rate(rate)
