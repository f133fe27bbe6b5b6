"""``depth-completion predict`` on broken val_selection_cropped folders: one clear error line, exit
code 2, and nothing written when a sample lacks its image or intrinsics."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.cli.main import main


def _predict(folder: Path, out: Path) -> int:
    return main(["predict", "--kitti-dc", str(folder), "--model", "classical", "--device", "cpu",
                 "--out", str(out)])


def test_output_names_sort_like_the_groundtruth_names(tmp_path: Path, make_folder) -> None:
    """The devkit pairs predictions with ground truth by sorted position: same count, same order."""
    names = make_folder(tmp_path / "dc")
    assert _predict(tmp_path / "dc", tmp_path / "out") == 0
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    groundtruth = sorted(n.replace("_velodyne_raw_", "_groundtruth_depth_") for n in names)
    assert written == sorted(names)
    assert [w.replace("_velodyne_raw_", "_groundtruth_depth_") for w in written] == groundtruth


@pytest.mark.parametrize("part, expected", [
    ("intrinsics", "has no intrinsics file (expected intrinsics/"
                   "2011_09_26_drive_0001_sync_image_0000000001_image_02.txt)"),
    ("image", "has no image file (expected image/"
              "2011_09_26_drive_0001_sync_image_0000000001_image_02.png)"),
])
def test_missing_part_is_named_before_anything_is_written(tmp_path: Path, make_folder,
                                                          capsys: pytest.CaptureFixture,
                                                          part: str, expected: str) -> None:
    make_folder(tmp_path / "dc")
    next(iter(sorted((tmp_path / "dc" / part).iterdir())[1:])).unlink()
    assert _predict(tmp_path / "dc", tmp_path / "out") == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _drop_sync(root: Path) -> None:
    """Rename ``<drive>_sync_<part>_<frame>_image_02`` to ``<drive>_<part>_<frame>_image_02``."""
    for path in root.glob("*/*"):
        path.rename(path.with_name(path.name.replace("_sync_", "_", 1)))


def test_names_without_sync_pair_and_a_missing_image_is_named(tmp_path: Path, make_folder,
                                                                capsys: pytest.CaptureFixture
                                                                ) -> None:
    """KITTI's rule is ``_velodyne_raw_`` -> ``_image_`` whatever precedes it: such a folder
    used to find no image at all and to name ``image/<velodyne_raw name>`` as expected."""
    make_folder(tmp_path / "dc")
    _drop_sync(tmp_path / "dc")
    assert _predict(tmp_path / "dc", tmp_path / "out") == 0
    assert len(list((tmp_path / "out").glob("*.png"))) == 2
    (tmp_path / "dc" / "image" / "2011_09_26_drive_0001_image_0000000001_image_02.png").unlink()
    assert _predict(tmp_path / "dc", tmp_path / "out2") == 2
    err = capsys.readouterr().err
    assert ("2011_09_26_drive_0001_velodyne_raw_0000000001_image_02.png has no image file "
            "(expected image/2011_09_26_drive_0001_image_0000000001_image_02.png)") in err
    assert "0000000000" not in err


def test_eight_bit_velodyne_png_is_an_error(tmp_path: Path, make_folder,
                                            capsys: pytest.CaptureFixture) -> None:
    names = make_folder(tmp_path / "dc")
    path = tmp_path / "dc" / "velodyne_raw" / names[0]
    cv2.imwrite(str(path), (cv2.imread(str(path), cv2.IMREAD_UNCHANGED) // 256).astype(np.uint8))
    assert _predict(tmp_path / "dc", tmp_path / "out") == 2
    assert f"{names[0]}: depth PNG must be 1-channel 16-bit, got 1-channel uint8" in \
        capsys.readouterr().err
