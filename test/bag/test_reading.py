"""Bag reading helpers on a bag converted into tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.messages import stamp_to_ns
from depth_completion_ros.bag.reading import header_stamp_ns, iter_messages
from depth_completion_ros.bag.topics import kitti_topics
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.evaluation.frames import iter_bag_frames


def test_header_stamp_from_raw_cdr_equals_decoded(tmp_path: Path, sample_dir: Path) -> None:
    convert_kitti(sample_dir, tmp_path / "b", max_frames=2)
    messages = [m for m in iter_messages(tmp_path / "b") if m.topic != "/tf_static"]
    assert len(messages) == 6
    for m in messages:
        assert header_stamp_ns(m.raw) == stamp_to_ns(m.decode().header.stamp)
    with pytest.raises(DataFormatError):
        header_stamp_ns(b"\x00\x07")
    with pytest.raises(DataFormatError, match="no topic /nope"):
        list(iter_messages(tmp_path / "b", ["/nope"]))


def test_frames_follow_the_sync_policy(tmp_path: Path, drive0009_dir: Path) -> None:
    """Real stamps: every image is paired with the cloud ~10 ms before it."""
    convert_kitti(drive0009_dir, tmp_path / "d", max_frames=5)
    frames = list(iter_bag_frames(tmp_path / "d", kitti_topics(2)))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.reason == "matched" for f in frames)
    gaps = [(f.stamp_ns - f.cloud_stamp_ns) / 1e6 for f in frames]
    assert all(9.0 < g < 12.0 for g in gaps)
