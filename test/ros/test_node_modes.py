"""LiDAR dropout and return (modes follow, diagnostics say so) and model hot swap under load."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
from rclpy.parameter import Parameter

from depth_completion_ros.models import registry
from depth_completion_ros.models.base import CompletionOutput, ModelInput, ModelSpec

MONO_DEPTH = 7.0


@dataclass(frozen=True)
class _MonoConfig:
    pass


class _ConstantMono:
    """RGB-only stand-in (no RGB-only model is registered yet): depth 7 m everywhere."""

    spec = ModelSpec("test_mono", required=(ModelInput.RGB,), description="test stand-in")
    name = spec.name

    def predict(self, rgb, sparse_depth, K):
        shape = rgb.shape[:2]
        return CompletionOutput(np.full(shape, MONO_DEPTH, np.float32),
                                np.full(shape, 0.3, np.float32))


@pytest.fixture
def mono_model():
    """Register the stand-in for this test only."""
    with registry.temporary_model(_ConstantMono.spec, factory=lambda cfg, **kw: _ConstantMono(),
                                  config_cls=_MonoConfig):
        yield "test_mono"


def _feed_until(h, frames, stamp, condition, *, cloud, timeout=60.0):
    """Publish frames at 10 Hz from ``stamp`` until ``condition()`` (at most ``timeout`` s of
    wall time: CI may be slow); returns the next stamp."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h.send(frames, int(stamp * 10), stamp, cloud=cloud)
        stamp = round(stamp + 0.1, 3)
        if h.wait_for(condition, 0.1):
            return stamp
    raise AssertionError(f"condition not met within {timeout} s: "
                         f"{h.last('diagnostics') if h.count('diagnostics') else None}")


def _diag_mode(h, mode):
    return lambda: h.count("diagnostics") > 0 and h.last("diagnostics")["mode"] == mode


def _depth_since(h, start, check):
    """Condition: a depth image received after the first ``start`` satisfies ``check``."""
    return lambda: any(check(np.frombuffer(bytes(m.data), np.float32))
                       for m in h.since("depth", start))


def _is_mono(depth):
    return bool(np.all(depth == MONO_DEPTH))


def _is_lidar(depth):
    return bool(np.nanmax(depth) > 20.0)


def test_lidar_dropout_and_return_switch_modes(harness, frames, mono_model):
    # max_wait well above transport jitter, so that frames with clouds are completion frames
    h = harness(lidar_timeout=0.6, max_wait=0.25, dropout_model=mono_model)
    assert h.wait_ready()
    stamp = _feed_until(h, frames, 1.0, _diag_mode(h, "completion"), cloud=True)
    start = h.count("depth")
    # Frames that waited max_wait in vain are prediction frames too; dropout proper is when
    # diagnostics report the LiDAR silent for lidar_timeout.
    stamp = _feed_until(h, frames, stamp, lambda: _diag_mode(h, "prediction")() and
                        float(h.last("diagnostics")["lidar_age_s"]) >= 0.6 and
                        _depth_since(h, start, _is_mono)(), cloud=False)
    assert not h.node.sync.lidar_alive()
    start = h.count("depth")
    _feed_until(h, frames, stamp, lambda: _diag_mode(h, "completion")() and
                _depth_since(h, start, _is_lidar)(), cloud=True)  # LiDAR depths, not 7 m
    assert h.node.stats.unserved == 0


def test_without_dropout_model_frames_are_unserved_and_reported(harness, frames):
    h = harness(lidar_timeout=0.3, max_wait=0.05, dropout_model="none")
    assert h.wait_ready()
    stamp = _feed_until(h, frames, 1.0, lambda: h.node.stats.unserved >= 3, cloud=False)
    assert h.count("depth") == 0
    _feed_until(h, frames, stamp, lambda: h.count("depth") > 0, cloud=True)
    assert h.wait_for(lambda: h.count("diagnostics") and
                      int(h.last("diagnostics")["frames_unserved"]) >= 3)


def test_model_hot_swap_under_load(harness, frames):
    h = harness()
    assert h.wait_ready()
    stop = threading.Event()

    def feed() -> None:
        stamp = 1.0
        while not stop.is_set():
            h.send(frames, int(stamp * 10), stamp)
            stamp = round(stamp + 0.1, 3)
            stop.wait(0.1)
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        assert h.wait_for(lambda: h.count("depth") >= 2)
        result = h.node.set_parameters([Parameter("model", value="nearest")])[0]
        assert result.successful, result.reason
        assert h.wait_for(lambda: h.count("diagnostics") and
                          h.last("diagnostics")["model"] == "nearest")
        rejected = h.node.set_parameters([Parameter("model", value="no_such_model")])[0]
        assert not rejected.successful
        assert "no_such_model" in rejected.reason and "classical" in rejected.reason
        missing = h.node.set_parameters([Parameter("checkpoint", value="missing/w.pt")])[0]
        assert not missing.successful and "does not exist" in missing.reason
        assert h.node.get_parameter("model").value == "nearest"
        count = h.count("depth")
        assert h.wait_for(lambda: h.count("depth") >= count + 3)  # still serving
        assert h.node.models.current.model.name == "nearest"
    finally:
        stop.set()
        feeder.join(5)
