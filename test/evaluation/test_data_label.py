"""Reports and figure titles name the data from the bag's metadata: KITTI and its license for the
converter's KITTI bags (the embedded sample: Geiger et al., IJRR 2013, CC BY-NC-SA 3.0), nothing
it does not know for any other bag."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag import messages
from depth_completion_ros.evaluation import report
from depth_completion_ros.evaluation.data_label import (
    KITTI_ATTRIBUTION,
    DataLabel,
    data_label,
)
from depth_completion_ros.evaluation.offline import Snapshot
from depth_completion_ros.evaluation.results import LinesSummary
from depth_completion_ros.metrics.devkit import DepthMetrics


@pytest.fixture(scope="module")
def unknown_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bag with one camera info and no custom metadata (recorded by anyone)."""
    bag = tmp_path_factory.mktemp("unknown") / "parking_lot_run3"
    with Writer(bag, version=8) as writer:
        conn = writer.add_connection("/cam/camera_info", "sensor_msgs/msg/CameraInfo",
                                     typestore=messages.TYPESTORE)
        info = messages.rectified_camera_info(640, 480, np.eye(3), 1, "cam")
        writer.write(conn, 1, messages.TYPESTORE.serialize_cdr(info, info.__msgtype__))
    return bag


def test_converter_bag_is_kitti(sample_bag: Path) -> None:
    label = data_label(sample_bag)
    assert label.license == "CC BY-NC-SA 3.0" and label.notice == KITTI_ATTRIBUTION
    assert label.description == (f"KITTI raw, frames 0-3 (bag {sample_bag.name}, written by "
                                 "depth-completion convert)")
    assert label.title == "KITTI, CC BY-NC-SA 3.0"


def test_unknown_bag_claims_nothing(unknown_bag: Path) -> None:
    label = data_label(unknown_bag)
    assert label.license is None
    assert label.description == "parking_lot_run3; source and license unknown"
    assert label.title == "parking_lot_run3: source and license unknown"
    for text in (label.description, label.notice, label.title):
        assert "KITTI" not in text and "CC BY" not in text


def _figure_titles(label: DataLabel, folder: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> tuple[list[str], str]:
    """Every title of every figure ``write_report`` saves, and the report's text."""
    titles: list[str] = []
    save = report._save

    def capture(fig: Figure, path: Path) -> Path:
        titles.append(" | ".join([fig._suptitle.get_text() if fig._suptitle else ""] +
                                 [ax.get_title() for ax in fig.axes]))
        return save(fig, path)

    monkeypatch.setattr(report, "_save", capture)
    metrics = DepthMetrics(1000.0, 500.0, 1.0, 1.0, 0.1, 0.1, 0.9, 0.95, 0.99, 100)
    summaries = [LinesSummary(n, 1, {}, metrics, {"0-20m": metrics}, 1.0, 2.0) for n in (32, 16)]
    gt = np.full((8, 16), 5.0, np.float32)
    snapshot = Snapshot(32, 0, np.zeros((8, 16, 3), np.uint8), gt, np.ones_like(gt), gt)
    path = report.write_report(folder, summaries, [snapshot], {"model": "m"}, label)
    return titles, path.read_text()


def test_figure_titles_and_report_carry_the_label(sample_bag: Path, unknown_bag: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    kitti_titles, kitti_text = _figure_titles(data_label(sample_bag), tmp_path / "k",
                                              monkeypatch)
    assert len(kitti_titles) == 3  # RMSE vs lines, RMSE vs distance, one frame
    assert all("KITTI, CC BY-NC-SA 3.0" in t for t in kitti_titles)
    assert KITTI_ATTRIBUTION in kitti_text
    titles, text = _figure_titles(data_label(unknown_bag), tmp_path / "u", monkeypatch)
    assert len(titles) == 3
    assert all("parking_lot_run3: source and license unknown" in t for t in titles)
    assert not any("KITTI" in t or "CC BY" in t for t in titles)
    assert "KITTI" not in text and "CC BY" not in text
    assert "its source and license are unknown" in text
