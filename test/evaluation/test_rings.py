"""Ring sources of the held-out evaluation: ``auto`` (the default), ``estimate``, ``field``, and
the estimate refused, per frame and with the reason, where it does not fit the scan.

Real data: the embedded sample and the shared KITTI raw drives (Geiger et al., IJRR 2013,
CC BY-NC-SA 3.0); the driver bag re-orders the sample's points as a Velodyne driver does.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from depth_completion_ros.bag.messages import TYPESTORE, header
from depth_completion_ros.cli.main import main
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.scoring import (
    MAX_ESTIMATED_RINGS,
    MIN_ESTIMATED_RINGS,
    RingError,
    choose_ring_source,
    estimate_problem,
    frame_rings,
)
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import KittiFrame, open_sequence


def _foreign_bags():
    """test_foreign_bags.py, whose driver-bag helpers this reuses (tests import in importlib
    mode, so not by module name)."""
    spec = importlib.util.spec_from_file_location(
        "foreign_bag_helpers", Path(__file__).with_name("test_foreign_bags.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FOREIGN = _foreign_bags()
DRIVER_DTYPE, START_NS, TOPICS = FOREIGN.DRIVER_DTYPE, FOREIGN.START_NS, FOREIGN.TOPICS
T = TYPESTORE.types
#: Per-laser azimuth offset of the driver cloud (radians, alternating sign): the lasers of one
#: firing look in slightly different directions, as on a real HDL-64 (its rotational
#: corrections reach several degrees), so where a turn ends the firing order straddles +-pi.
LASER_OFFSET_RAD = 0.01


def _ring_cloud(sizes: list[int]) -> np.ndarray:
    """Points in scan order: ring k = ``sizes[k]`` points over one full turn."""
    turns = [np.linspace(np.pi, -np.pi, n, endpoint=False) for n in sizes]
    azimuth = np.concatenate(turns)
    return np.column_stack([10 * np.cos(azimuth), 10 * np.sin(azimuth),
                            np.zeros_like(azimuth)]).astype(np.float32)


@pytest.mark.parametrize("sizes, problem", [
    ([100] * 64, None),
    ([100] * MIN_ESTIMATED_RINGS, None),
    ([100] * (MIN_ESTIMATED_RINGS - 1), "found 15 rings"),
    ([20] * MAX_ESTIMATED_RINGS, None),
    ([20] * (MAX_ESTIMATED_RINGS + 1), "found 257 rings"),
    ([100] * 63 + [400], None),  # 3.8 mean rings: most beams lose 3 returns in 4
    ([100] * 63 + [700], "the largest ring holds 700 points, 6.4 times the mean ring"),
])
def test_estimate_problem_edges(sizes: list[int], problem: str | None) -> None:
    rings = estimate_rings(_ring_cloud(sizes), cut="pi")
    assert len(np.bincount(rings)) == len(sizes)
    found = estimate_problem(rings)
    assert found is None if problem is None else problem in found


def test_frame_rings_by_source() -> None:
    points = _ring_cloud([50] * 64)
    field = np.arange(len(points)) % 64  # differs from the estimate on purpose
    estimate = np.repeat(np.arange(64), 50)
    np.testing.assert_array_equal(frame_rings(points, None, "estimate"), estimate)
    np.testing.assert_array_equal(frame_rings(points, field, "estimate"), estimate)
    np.testing.assert_array_equal(frame_rings(points, field, "field"), field)
    np.testing.assert_array_equal(frame_rings(points, field, "auto"), field)
    np.testing.assert_array_equal(frame_rings(points, None, "auto"), estimate)
    with pytest.raises(RingError, match="has no ring field"):
        frame_rings(points, None, "field")
    with pytest.raises(RingError, match="non-negative integers"):
        frame_rings(points, -field, "auto")
    with pytest.raises(RingError, match="found 1 rings"):
        frame_rings(_ring_cloud([3200]), None, "auto")
    with pytest.raises(InputError, match="ring source must be one of"):
        frame_rings(points, None, "elevation")


@pytest.mark.parametrize("requested, kitti, chosen", [
    ("auto", True, "estimate"), ("auto", False, "auto"), ("estimate", False, "estimate"),
    ("field", True, "field"), ("estimate", True, "estimate"),
])
def test_choose_ring_source(requested: str, kitti: bool, chosen: str) -> None:
    source, why = choose_ring_source(requested, kitti)
    assert source == chosen and why.startswith(requested)


def _check_drive(root: Path) -> int:
    count = 0
    for frame in open_sequence(root):
        rings = frame_rings(frame.points, None, "estimate")  # raises if refused
        assert rings.max() + 1 == 65  # KITTI: 64 beams, the pi cut joins ends and starts
        count += 1
    return count


def test_estimate_accepts_every_real_kitti_scan(sample_dir: Path) -> None:
    assert _check_drive(sample_dir) == 4


def test_estimate_accepts_every_scan_of_seq16(seq16_dir: Path) -> None:
    assert _check_drive(seq16_dir) == 16


def test_estimate_accepts_every_scan_of_drive0009(drive0009_dir: Path) -> None:
    assert _check_drive(drive0009_dir) == 51


def _firing_order_cloud(frame: KittiFrame, stamp_ns: int):
    """A driver's PointCloud2 (ring field, 32-byte points) in firing order: column after column
    of the encoder angle, each laser looking :data:`LASER_OFFSET_RAD` off it."""
    rings = estimate_rings(frame.points)
    offset = LASER_OFFSET_RAD * np.where(rings % 2 == 0, 1.0, -1.0)
    azimuth = np.arctan2(frame.points[:, 1], frame.points[:, 0])
    encoder = np.mod(azimuth + offset + np.pi, 2 * np.pi) - np.pi
    column = np.floor((encoder + np.pi) / (2 * np.pi) * 2000).astype(np.int64)
    order = np.lexsort((rings, column))
    record = np.zeros(len(order), DRIVER_DTYPE)
    for i, name in enumerate(("x", "y", "z", "intensity")):
        record[name] = frame.points[order, i]
    record["ring"], record["time"] = rings[order], column[order] * 5e-5
    fields = [T["sensor_msgs/msg/PointField"](name=n, offset=o, datatype=t, count=1)
              for n, o, t in (("x", 0, 7), ("y", 4, 7), ("z", 8, 7), ("intensity", 16, 7),
                              ("ring", 20, 4), ("time", 24, 7))]
    return T["sensor_msgs/msg/PointCloud2"](
        header=header(stamp_ns, "velodyne"), height=1, width=len(record), fields=fields,
        is_bigendian=False, point_step=32, row_step=32 * len(record),
        data=record.view(np.uint8), is_dense=True)


@pytest.fixture(scope="module")
def firing_order_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    bag = tmp_path_factory.mktemp("firing") / "bag"
    with Writer(bag, version=8, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conns = [writer.add_connection(topic, msgtype, typestore=TYPESTORE) for topic, msgtype in
                 ((FOREIGN.IMAGE, "sensor_msgs/msg/Image"),
                  (FOREIGN.INFO, "sensor_msgs/msg/CameraInfo"),
                  (FOREIGN.POINTS, "sensor_msgs/msg/PointCloud2"))]
        for position, frame in enumerate(open_sequence(sample_dir)):
            stamp = START_NS + position * 100_000_000
            for conn, msg in zip(conns, FOREIGN._camera_messages(frame, stamp)):
                writer.write(conn, stamp + 5_000_000, TYPESTORE.serialize_cdr(msg, msg.__msgtype__))
            cloud = _firing_order_cloud(frame, stamp - 30_000_000)
            writer.write(conns[2], stamp + 10_000_000,
                         TYPESTORE.serialize_cdr(cloud, cloud.__msgtype__))
    return bag


def _evaluate(bag: Path, out: Path, sample_dir: Path, *extra: str) -> dict:
    assert main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines", "32",
                 "--report", str(out), *TOPICS, *FOREIGN._matrix_args(sample_dir), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_firing_order_estimate_does_not_fit(sample_dir: Path) -> None:
    """The estimate on the firing-order cloud finds over 16 rings (the old check passed it), one
    of them holding nearly the whole scan: refused as rings of wildly unequal size."""
    frame = next(iter(open_sequence(sample_dir)))
    cloud = _firing_order_cloud(frame, START_NS)
    points = np.frombuffer(bytes(cloud.data), DRIVER_DTYPE)
    xyz = np.column_stack([points["x"], points["y"], points["z"]])
    sizes = np.bincount(estimate_rings(xyz, cut="pi"))
    assert MIN_ESTIMATED_RINGS <= len(sizes) <= MAX_ESTIMATED_RINGS
    assert sizes.max() > 0.99 * len(xyz)
    with pytest.raises(RingError, match="rings of wildly unequal size"):
        frame_rings(xyz, None, "estimate")


def test_auto_uses_the_ring_field_of_a_driver_cloud(firing_order_bag: Path, sample_dir: Path,
                                                    tmp_path: Path) -> None:
    """The default (auto) scores the driver bag exactly like ``--rings field``; ``--rings
    estimate`` used to score it silently on a wrong split and now skips every frame, saying
    why, without ending the run."""
    auto = _evaluate(firing_order_bag, tmp_path / "auto", sample_dir)
    field = _evaluate(firing_order_bag, tmp_path / "field", sample_dir, "--rings", "field")
    estimate = _evaluate(firing_order_bag, tmp_path / "estimate", sample_dir,
                         "--rings", "estimate")
    assert auto["by_lines"][0]["frames_scored"] == 4
    assert auto["rings"].startswith("auto: each cloud's ring field")
    for name in ("rmse", "mae", "delta1", "num_pixels"):
        assert auto[name] == field[name]
    assert auto["num_pixels"] > 25_000 and auto["delta1"] > 0.9  # a sane split: half the beams
    assert [f["status"] for f in estimate["frames"]] == ["rings refused"] * 4
    assert all("rings of wildly unequal size" in f["reason"] for f in estimate["frames"])
    assert estimate["by_lines"][0]["frames_skipped"] == {"rings refused": 4}
    report = (tmp_path / "estimate" / "report.md").read_text()
    assert report.count("rings of wildly unequal size") == 4
    assert "4 rings refused" in report


def test_kitti_bag_auto_is_the_protocol_estimate(sample_bag: Path, tmp_path: Path) -> None:
    """The converter's ring field is its own (scan_start) estimate: auto keeps the protocol's
    numbers on KITTI bags, which ``--rings field`` would change."""
    runs = {}
    for source in ("auto", "estimate", "field"):
        out = tmp_path / source
        assert main(["evaluate", str(sample_bag), "--model", "nearest", "--heldout-beams",
                     "--lines", "32", "--report", str(out), "--rings", source]) == 0
        runs[source] = json.loads((out / "metrics.json").read_text())
    assert runs["auto"]["rings"].startswith("auto -> estimate")
    assert [f["metrics"] for f in runs["auto"]["frames"]] == \
        [f["metrics"] for f in runs["estimate"]["frames"]]
    assert runs["auto"]["rmse"] != runs["field"]["rmse"]
