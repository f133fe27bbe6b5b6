"""``evaluate --save-predictions``: files named by the source frame, so they pair with a user's
ground-truth folder (KITTI frame number from the converter's metadata, else the image stamp).

The bags are made from the embedded KITTI sample (Geiger et al., IJRR 2013, CC BY-NC-SA 3.0),
renumbered as drive frames 5-8 (as if cut from the middle of a drive).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.messages import TYPESTORE
from depth_completion_ros.bag.reading import header_stamp_ns, iter_messages, open_bag
from depth_completion_ros.bag.topics import kitti_topics
from depth_completion_ros.cli.main import main
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.depth_png import read_depth_png, write_depth_png
from depth_completion_ros.io.kitti_raw import open_sequence

FIRST = 5  # drive frame number of the sample's frame 0 in the renumbered copy
NUMBERED = [f"{FIRST + i:010d}.png" for i in range(4)]


@pytest.fixture(scope="module")
def drive(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with its files renamed to frames 5-8."""
    root = tmp_path_factory.mktemp("drive") / "drive"
    shutil.copytree(sample_dir, root)
    for folder in ("image_02/data", "velodyne_points/data"):
        for path in sorted((root / folder).iterdir(), reverse=True):
            path.rename(path.with_name(f"{int(path.stem) + FIRST:010d}{path.suffix}"))
    return root


@pytest.fixture(scope="module")
def bag(drive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converter's bag of the renumbered drive: its metadata says frames 5,6,7,8."""
    out = tmp_path_factory.mktemp("bag") / "bag"
    convert_kitti(drive, out)
    return out


def _saved(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png"))


def _evaluate(bag: Path, out: Path, *extra: str) -> Path:
    assert main(["evaluate", str(bag), "--model", "nearest", "--lines", "32",
                 "--report", str(out / "report"), "--save-predictions", str(out / "pred"),
                 *extra]) == 0
    return out / "pred" / "lines_32"


def test_named_by_the_converters_kitti_frame_number(bag: Path, tmp_path: Path) -> None:
    saved = _evaluate(bag, tmp_path, "--heldout-beams")
    assert _saved(saved / "prediction") == NUMBERED
    assert _saved(saved / "groundtruth") == NUMBERED


def test_pairs_with_the_users_ground_truth_folder(bag: Path, drive: Path,
                                                  tmp_path: Path) -> None:
    """With ``--gt``, each saved file carries the name of the ground-truth PNG it was scored
    against: the saved ground truth equals the user's file of the same name."""
    gt = tmp_path / "gt" / "proj_depth" / "groundtruth" / "image_02"
    for frame in open_sequence(drive):
        height, width = frame.image.shape[:2]
        depth = project_to_depth(frame.points, frame.calibration.lidar_to_camera(),
                                 frame.calibration.camera(2, width, height))
        write_depth_png(gt / f"{frame.index:010d}.png", depth)
    saved = _evaluate(bag, tmp_path, "--gt", str(tmp_path / "gt"))
    assert _saved(saved / "prediction") == NUMBERED == _saved(gt)
    for name in NUMBERED:
        np.testing.assert_array_equal(read_depth_png(saved / "groundtruth" / name),
                                      read_depth_png(gt / name))


def test_named_by_stamp_without_the_converters_metadata(bag: Path, tmp_path: Path) -> None:
    """A bag from another tool (the same messages, no custom metadata): the image stamps, ns."""
    foreign = tmp_path / "foreign"
    with open_bag(bag) as reader:
        connections = list(reader.connections)
    with Writer(foreign, version=8) as writer:
        conns = {c.topic: writer.add_connection(c.topic, c.msgtype, typestore=TYPESTORE,
                                                offered_qos_profiles=c.ext.offered_qos_profiles)
                 for c in connections}
        for message in iter_messages(bag):
            writer.write(conns[message.topic], message.log_time_ns, message.raw)
    stamps = [header_stamp_ns(m.raw) for m in iter_messages(bag, [kitti_topics(2).image])]
    saved = _evaluate(foreign, tmp_path, "--heldout-beams")
    assert _saved(saved / "prediction") == sorted(f"{s}.png" for s in stamps)
