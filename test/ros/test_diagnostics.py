"""NodeStats figures (hand-computed) and the DiagnosticArray built from them."""
from __future__ import annotations

import pytest

from depth_completion_ros.ros.diagnostics import to_diagnostic_array
from depth_completion_ros.runtime.stats import OK, WARN, NodeStats, snapshot_fields


def _stats() -> NodeStats:
    stats = NodeStats(window=4, idle_after=2.0)
    for i, latency in enumerate([10.0, 20.0, 30.0, 40.0, 50.0]):  # window keeps 20..50
        stats.record_frame(100.0 + i, "completion", "classical", latency, 1000 + i, 0.01)
    stats.record_error("points", "points: truncated")
    stats.record_error("points", "points: no z")
    stats.record_unserved("no model")
    return stats


def test_snapshot_figures():
    snap = _stats().snapshot(104.5, device="cpu", lidar_age_s=0.05, dropped=3)
    assert (snap.mode, snap.model, snap.points_in_view) == ("completion", "classical", 1004)
    assert snap.latency_p50_ms == pytest.approx(35.0)
    assert snap.latency_p95_ms == pytest.approx(48.5)  # linear interpolation 20, 30, 40, 50
    assert (snap.frames_served, snap.frames_dropped, snap.frames_unserved) == (5, 3, 1)
    assert snap.input_errors == {"points": 2} and snap.last_error == "no model"
    assert snap.level() == OK


def test_idle_after_silence_and_warn_levels():
    stats = _stats()
    idle = stats.snapshot(110.0, device="cpu", lidar_age_s=5.0, dropped=0)
    assert (idle.mode, idle.points_in_view, idle.level()) == ("idle", 0, WARN)
    failed = stats.snapshot(104.5, device="cpu", lidar_age_s=0.0, dropped=0,
                            model_error="loading 'x' failed")
    assert failed.level() == WARN


def test_diagnostic_array_carries_the_fields():
    snap = _stats().snapshot(104.5, device="cpu", lidar_age_s=0.05, dropped=3)
    from builtin_interfaces.msg import Time
    msg = to_diagnostic_array(snap, "/ns/node: depth completion", "cpu", Time(sec=7))
    status = msg.status[0]
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == bytes([OK]) and msg.header.stamp.sec == 7
    assert values["mode"] == "completion" and values["input_errors.points"] == "2"
    assert values["latency_p95_ms"] == "48.5" and values["frames_dropped"] == "3"
    assert [k for k, _ in snapshot_fields(snap)][:3] == ["mode", "model", "device"]


def test_tier_scan_age_and_per_tier_counts():
    stats = NodeStats(idle_after=2.0)
    stats.record_frame(1.0, "completion", "classical", 10.0, 100, 0.01, "completion", 0.01)
    stats.record_frame(1.1, "completion", "classical", 10.0, 100, 0.01, "stale_scan", 0.1)
    stats.record_frame(1.2, "completion", "classical", 10.0, 100, 0.01, "stale_scan", 0.2)
    snap = stats.snapshot(1.3, device="cpu", lidar_age_s=0.3, dropped=0)
    values = dict(snapshot_fields(snap))
    assert (values["tier"], values["scan_age_s"]) == ("stale_scan", "0.200")
    assert (values["frames_served.completion"], values["frames_served.stale_scan"],
            values["frames_served.rgb_only"]) == ("1", "2", "0")
    assert snap.level() == WARN  # a stale scan serves: warn, although the mode is completion
    stats.record_frame(1.4, "prediction", "san", 10.0, 0, 0.0, "rgb_only", None)
    values = dict(snapshot_fields(stats.snapshot(1.5, device="cpu", lidar_age_s=0.5, dropped=0,
                                                 dropout_model_error="")))
    assert (values["tier"], values["scan_age_s"]) == ("rgb_only", "nan")
    failed = stats.snapshot(9.0, device="cpu", lidar_age_s=9.0, dropped=0,
                            dropout_model_error="dropout_model 'san' not loaded: unknown")
    assert dict(snapshot_fields(failed))["dropout_model_error"].startswith("dropout_model 'san'")
    assert dict(snapshot_fields(failed))["tier"] == "idle"


def test_device_reported_is_the_one_in_use_with_the_request():
    from types import SimpleNamespace

    from depth_completion_ros.ros.node import device_in_use
    from depth_completion_ros.ros.params import NodeSettings

    classical = SimpleNamespace(model=object())  # learning-free: no engine
    torch_cpu = SimpleNamespace(model=SimpleNamespace(engine=SimpleNamespace(device="cpu")))
    assert device_in_use(classical, NodeSettings(device="auto")) == "cpu (requested auto)"
    assert device_in_use(classical, NodeSettings(device="cpu")) == "cpu"
    assert device_in_use(torch_cpu, NodeSettings(device="cuda")) == "cpu (requested cuda)"
    assert device_in_use(None, NodeSettings(device="cpu")) == "cpu"
