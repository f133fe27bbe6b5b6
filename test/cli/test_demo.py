"""Stage-1 demo: files written for the embedded sample hold the projection's values."""
from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.cli import demo
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.geometry.crop import Crop
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_raw import open_sequence


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert demo.run(parse(["--out", str(out), "--projection-only"])) == 0
    return out, buf.getvalue()


def test_demo_writes_two_pngs_per_frame(demo_out: tuple[Path, str]) -> None:
    out, _ = demo_out
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"overlay_{i:010d}.png" for i in range(4)] + \
                    [f"sparse_{i:010d}.png" for i in range(4)]


def test_sparse_png_equals_projection(demo_out: tuple[Path, str], sample_dir: Path) -> None:
    out, _ = demo_out
    seq = open_sequence(sample_dir)
    frame = seq.frame(2)
    expected = project_to_depth(frame.points, seq.calibration.lidar_to_camera(),
                                seq.calibration.camera(2, 1242, 375))
    got = read_depth_png(out / "sparse_0000000002.png")
    np.testing.assert_array_equal(got > 0, expected > 0)
    assert np.abs(got - expected).max() <= 1 / 256


def test_overlay_differs_only_around_points(demo_out: tuple[Path, str], sample_dir: Path) -> None:
    out, _ = demo_out
    frame = open_sequence(sample_dir).frame(0)
    overlay = cv2.cvtColor(cv2.imread(str(out / "overlay_0000000000.png")), cv2.COLOR_BGR2RGB)
    sparse = read_depth_png(out / "sparse_0000000000.png")
    near_points = cv2.dilate((sparse > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    changed = np.any(overlay != frame.image, axis=2)
    assert not changed[~near_points].any()
    assert changed[sparse > 0].mean() > 0.99


def test_summary_line(demo_out: tuple[Path, str]) -> None:
    _, text = demo_out
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo: 4 frames")
    low, high = (float(x) for x in lines[0].split("crop ")[1].split(" %")[0].split("-"))
    assert 3.3 <= low <= high <= 4.8


def test_crop_density_hand_value() -> None:
    sparse = np.zeros((6, 8))
    sparse[5, 1] = 1.0  # left of the bottom-centre 4x2 crop (columns 2-5, rows 4-5)
    sparse[4, 3] = 2.0
    assert demo.crop_density(sparse, Crop(4, 2)) == pytest.approx(1 / 8)
    assert demo.crop_density(sparse, Crop(20, 20)) == pytest.approx(2 / 48)  # clamped to 8x6


def test_demo_on_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError):
        demo.run(parse(["--out", str(tmp_path / "o"), "--data", str(tmp_path)]))


def test_printed_paths_are_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from depth_completion_ros.evaluation.report import display_path
    from depth_completion_ros.paths import SAMPLE_DIR
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "out" / "demo") == "out/demo"
    assert display_path(SAMPLE_DIR) == "sample_data/kitti_raw_2011_09_26_seq16_4frames"
    assert display_path(tmp_path) == "."


def test_summary_line_has_no_absolute_path(demo_out: tuple[Path, str]) -> None:
    _, text = demo_out
    assert " /" not in text and "sample_data/kitti_raw_2011_09_26_seq16_4frames" in text
