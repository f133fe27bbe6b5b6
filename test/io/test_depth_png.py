"""KITTI 16-bit depth PNG encode / decode / file round trip and wrong-kind files."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.io.depth_png import depth_to_uint16, read_depth_png, write_depth_png


def test_encoding_hand_values() -> None:
    depth = np.array([[1.0, 0.0, np.nan, -2.0], [300.0, 0.001, 10.0 + 1 / 512 + 1e-6, np.inf]])
    assert depth_to_uint16(depth).tolist() == [[256, 0, 0, 0], [65535, 1, 2561, 0]]


def test_file_round_trip_within_half_step(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 90.0, size=(37, 53)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.5] = 0
    write_depth_png(tmp_path / "sub" / "d.png", depth)
    back = read_depth_png(tmp_path / "sub" / "d.png")
    assert back.dtype == np.float32 and back.shape == depth.shape
    np.testing.assert_array_equal(back == 0, depth == 0)
    assert np.abs(back - depth).max() <= 1 / 512 + 1e-6
    assert cv2.imread(str(tmp_path / "sub" / "d.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


@pytest.mark.parametrize("image, needle", [
    (np.zeros((4, 4), np.uint8), "1-channel 16-bit, got 1-channel uint8"),
    (np.zeros((4, 4, 3), np.uint16), "got 3-channel uint16"),
])
def test_wrong_kind_of_png(tmp_path: Path, image: np.ndarray, needle: str) -> None:
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image)
    with pytest.raises(DataFormatError, match=needle) as info:
        read_depth_png(path)
    assert str(path) in str(info.value)


def test_missing_or_garbage_png(tmp_path: Path) -> None:
    (tmp_path / "g.png").write_bytes(b"not a png")
    for path in (tmp_path / "none.png", tmp_path / "g.png"):
        with pytest.raises(DataFormatError, match="cannot read depth PNG"):
            read_depth_png(path)
