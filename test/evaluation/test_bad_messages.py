"""``evaluate`` on a bag with malformed messages: each is skipped, counted and reported.

The bag is the converter's bag of the embedded KITTI sample (Geiger et al., IJRR 2013,
CC BY-NC-SA 3.0) copied with rosbags, with frame 1's PointCloud2 truncated (``data`` shorter than
its layout) and frame 2's image in an encoding no decoder reads.
"""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag.messages import TYPESTORE
from depth_completion_ros.bag.reading import iter_messages, open_bag
from depth_completion_ros.bag.topics import SOURCE_KEY, STAMPS_KEY, kitti_topics
from depth_completion_ros.cli.main import main
from depth_completion_ros.evaluation.frames import BadMessage, EvalFrame, iter_bag_frames
from depth_completion_ros.evaluation.offline import EvaluationSetup
from depth_completion_ros.status import FrameStatus

TOPICS = kitti_topics(2)
BAD_CLOUD, BAD_IMAGE = 1, 2  # positions of the broken messages


def _break(message_topic: str, position: int, msg: object) -> object | None:
    """The broken version of the message at ``position`` on its topic, or None to keep it."""
    if message_topic == TOPICS.points and position == BAD_CLOUD:
        return dataclasses.replace(msg, data=msg.data[:len(msg.data) // 2])
    if message_topic == TOPICS.image and position == BAD_IMAGE:
        return dataclasses.replace(msg, encoding="yuv422_yuy2")
    return None


def write_bag_with_bad_messages(source: Path, out: Path) -> None:
    """Copy ``source`` (custom metadata included) breaking one cloud and one image."""
    with open_bag(source) as reader:
        connections = list(reader.connections)
        custom = dict(reader.storage.metadata.custom or {})
    seen: dict[str, int] = {}
    with Writer(out, version=8) as writer:
        for key in (SOURCE_KEY, STAMPS_KEY):
            writer.set_custom_data(key, custom[key])
        conns = {c.topic: writer.add_connection(c.topic, c.msgtype, typestore=TYPESTORE,
                                                offered_qos_profiles=c.ext.offered_qos_profiles)
                 for c in connections}
        for message in iter_messages(source):
            position = seen[message.topic] = seen.get(message.topic, -1) + 1
            broken = _break(message.topic, position, message.decode())
            raw = message.raw if broken is None else \
                bytes(TYPESTORE.serialize_cdr(broken, message.msgtype))
            writer.write(conns[message.topic], message.log_time_ns, raw)


@pytest.fixture(scope="module")
def bad_bag(sample_bag: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bag = tmp_path_factory.mktemp("badbag") / "bag"
    write_bag_with_bad_messages(sample_bag, bag)
    return bag


def _evaluate(bag: Path, out: Path) -> dict:
    assert main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines", "32",
                 "--report", str(out)]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_bad_messages_are_skipped_counted_and_the_rest_scored_alike(
        bad_bag: Path, sample_bag: Path, tmp_path: Path) -> None:
    """Frames 0 and 3 score as in the intact bag; frame 1 lost its cloud (the node drops a bad
    cloud, its image goes on alone); frame 2's image and frame 1's cloud are 2 bad messages."""
    clean = _evaluate(sample_bag, tmp_path / "clean")
    bad = _evaluate(bad_bag, tmp_path / "bad")
    summary = bad["by_lines"][0]
    assert summary["frames_scored"] == 2
    assert summary["frames_skipped"] == {str(FrameStatus.BAD_MESSAGE): 2,
                                         str(FrameStatus.NO_CLOUD): 1}
    expected = {f["frame"]: f["metrics"] for f in clean["frames"]}
    scored = {f["frame"]: f["metrics"] for f in bad["frames"] if f["status"] == "scored"}
    assert sorted(scored) == [0, 3]
    for frame, metrics in scored.items():
        for name in ("rmse", "mae", "irmse", "imae", "num_pixels"):
            assert metrics[name] == expected[frame][name]
    assert np.mean([m["rmse"] for m in scored.values()]) == pytest.approx(bad["rmse"])
    rows = {(r["frame"], r["status"]): r["reason"]
            for r in csv.DictReader(open(tmp_path / "bad" / "frames.csv"))}
    assert set(rows) == {("0", "scored"), ("1", "no cloud paired"), ("2", "bad message"),
                         ("-1", "bad message"), ("3", "scored")}
    assert rows[("-1", "bad message")].startswith(f"{TOPICS.points}: PointCloud2.data")
    assert "truncated" in rows[("-1", "bad message")]
    assert rows[("2", "bad message")].startswith(f"{TOPICS.image}: Image.encoding")
    assert bad["bad_messages"] == 2
    report = (tmp_path / "bad" / "report.md").read_text()
    assert "2 bad message" in report and "yuv422_yuy2" in report


def test_frames_yield_bad_messages_in_place(bad_bag: Path) -> None:
    """Image positions do not shift past a bad image (ground truth is looked up by position)."""
    items = list(iter_bag_frames(bad_bag, TOPICS))
    bad = [i for i in items if isinstance(i, BadMessage)]
    frames = [i for i in items if isinstance(i, EvalFrame)]
    assert [(b.index, b.topic) for b in bad] == [(-1, TOPICS.points), (BAD_IMAGE, TOPICS.image)]
    assert [f.index for f in frames] == [0, 1, 3]
    assert [f.points is None for f in frames] == [False, True, False]


def test_online_path_keeps_going_and_counts_bad_messages(bad_bag: Path, tmp_path: Path) -> None:
    """``--online``: the node's input bag carries the bad cloud as it is (the node rejects it, no
    crash while copying) and the recorded outputs' rows count both bad messages."""
    pytest.importorskip("rclpy")
    from depth_completion_ros.ros.online_evaluation import _score_recorded, write_input_bag
    setup = EvaluationSetup(bad_bag, TOPICS, (32,))
    write_input_bag(bad_bag, tmp_path / "input", setup, 32)
    copied = [m.raw for m in iter_messages(tmp_path / "input", [TOPICS.points])]
    original = [m.raw for m in iter_messages(bad_bag, [TOPICS.points])]
    assert copied[BAD_CLOUD] == original[BAD_CLOUD] and copied[0] != original[0]
    rows, _ = _score_recorded(setup, 32, {}, {}, {}, np.eye(4))
    assert sorted((r.frame, str(r.status)) for r in rows) == [
        (-1, "bad message"), (0, "not delivered"), (1, "not delivered"), (2, "bad message"),
        (3, "not delivered")]
