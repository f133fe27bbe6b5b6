"""KITTI depth-completion layouts.

* ``data_depth_velodyne`` / ``data_depth_annotated``:
  ``[<split>/]<drive>/proj_depth/{velodyne_raw,groundtruth}/image_0{2,3}/<frame>.png``; the RGB
  images live in the raw dataset (``<raw>/<date>/<drive>/image_0x/data/<frame>.png``).
* ``depth_selection/val_selection_cropped`` (and ``test_depth_completion_anonymous``):
  ``image/``, ``velodyne_raw/``, ``groundtruth_depth/`` (absent for test), ``intrinsics/``
  (a ``.txt`` of 9 numbers, K row-major), paired by name (``..._sync_image_<frame>_image_02.png``
  <-> ``..._sync_velodyne_raw_...`` <-> ``..._sync_groundtruth_depth_...``, see
  :func:`selection_file_names`).

Depth PNGs are 16-bit, value / 256 = metres, 0 = no value
(:mod:`depth_completion_ros.io.depth_png`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Float32Array, Float64Array, UInt8Array
from depth_completion_ros.errors import CalibrationError, DataFormatError
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_raw import read_rgb


@dataclass(frozen=True)
class DcFrame:
    """One loaded sample: RGB (H, W, 3) uint8 or None, sparse and ground-truth depth (H, W)
    float32 metres (0 = none; ground truth None when absent), K (3, 3) or None."""

    name: str
    rgb: UInt8Array | None
    sparse: Float32Array
    groundtruth: Float32Array | None
    K: Float64Array | None


@dataclass(frozen=True)
class DcSample:
    """File paths of one depth-completion sample (optional parts None when absent)."""

    name: str
    sparse_path: Path
    groundtruth_path: Path | None = None
    image_path: Path | None = None
    intrinsics_path: Path | None = None

    def load(self) -> DcFrame:
        """Read every file of the sample.

        Raises:
            DataFormatError: A PNG is missing, unreadable or of the wrong kind.
            CalibrationError: The intrinsics file is malformed.
        """
        return DcFrame(
            self.name,
            read_rgb(self.image_path) if self.image_path else None,
            read_depth_png(self.sparse_path),
            read_depth_png(self.groundtruth_path) if self.groundtruth_path else None,
            read_intrinsics_txt(self.intrinsics_path) if self.intrinsics_path else None,
        )


def read_intrinsics_txt(path: str | Path) -> Float64Array:
    """Read a depth-selection ``intrinsics/*.txt`` (9 numbers, row-major) as (3, 3) float64.

    Raises:
        CalibrationError: Unreadable, not 9 numbers, or zero focal lengths.
    """
    try:
        values = np.array(Path(path).read_text().split(), dtype=np.float64)
    except (OSError, ValueError) as err:
        raise CalibrationError(f"{path}: cannot read intrinsics as numbers ({err})") from err
    if values.size != 9 or not np.all(np.isfinite(values)):
        raise CalibrationError(f"{path}: intrinsics need 9 finite numbers, got {values.size}")
    K = values.reshape(3, 3)
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise CalibrationError(f"{path}: intrinsics K has zero focal length: {K.tolist()}")
    return K


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def selection_file_names(velodyne_name: str) -> dict[str, str]:
    """File names of one depth-selection sample, from its ``velodyne_raw`` file name.

    KITTI names the parts of a sample alike, the folder's word in the middle:
    ``<drive>_sync_velodyne_raw_<frame>_image_02.png`` -> image
    ``<drive>_sync_image_<frame>_image_02.png``, ground truth
    ``<drive>_sync_groundtruth_depth_<frame>_image_02.png``, intrinsics
    ``<drive>_sync_image_<frame>_image_02.txt``. A name without ``_velodyne_raw_`` (the anonymous
    test set's ``0000000000.png``) is the same in every folder.

    Returns:
        folder -> file name, for ``image``, ``groundtruth_depth`` and ``intrinsics``.

    Example:
        >>> selection_file_names("d_sync_velodyne_raw_0000000005_image_02.png")["intrinsics"]
        'd_sync_image_0000000005_image_02.txt'
    """
    image = velodyne_name.replace("_velodyne_raw_", "_image_", 1)
    return {"image": image,
            "groundtruth_depth": velodyne_name.replace("_velodyne_raw_", "_groundtruth_depth_", 1),
            "intrinsics": Path(image).with_suffix(".txt").name}


def list_depth_selection(root: str | Path) -> list[DcSample]:
    """Samples of a ``val_selection_cropped`` / ``test_depth_completion_anonymous`` folder.

    Raises:
        DataFormatError: No ``velodyne_raw/*.png`` under ``root``.
    """
    root = Path(root)
    sparse = sorted((root / "velodyne_raw").glob("*.png"))
    if not sparse:
        raise DataFormatError(f"{root}: no velodyne_raw/*.png (not a depth-selection folder)")
    samples = []
    for path in sparse:
        names = selection_file_names(path.name)
        samples.append(DcSample(
            Path(names["image"]).stem, path,
            _existing(root / "groundtruth_depth" / names["groundtruth_depth"]),
            _existing(root / "image" / names["image"]),
            _existing(root / "intrinsics" / names["intrinsics"])))
    return samples


def list_depth_annotated(velodyne_root: str | Path, annotated_root: str | Path | None = None, *,
                         raw_root: str | Path | None = None, camera: str = "image_02",
                         require_groundtruth: bool = True) -> list[DcSample]:
    """Samples of ``data_depth_velodyne`` (+ ``data_depth_annotated``, + raw images).

    The reader of the supervised KITTI training layout (86k frames), for ``depth-completion
    train`` (the training issue); not used by the node or the evaluation.

    Args:
        velodyne_root: Folder holding ``[<split>/]<drive>/proj_depth/velodyne_raw/<camera>``.
        annotated_root: Same tree for ``groundtruth``; defaults to ``velodyne_root``.
        raw_root: KITTI raw root (``<date>/<drive>/<camera>/data``) for the RGB, optional.
        camera: ``image_02`` or ``image_03``.
        require_groundtruth: Keep only frames with ground truth (KITTI's first / last 5 frames
            of each drive have none).

    Raises:
        DataFormatError: No velodyne_raw folder found under ``velodyne_root``.
    """
    vroot = Path(velodyne_root)
    aroot = Path(annotated_root) if annotated_root is not None else vroot
    folders = sorted(vroot.glob(f"**/proj_depth/velodyne_raw/{camera}"))
    if not folders:
        raise DataFormatError(f"{vroot}: no */proj_depth/velodyne_raw/{camera} folder")
    samples = []
    for folder in folders:
        rel = folder.relative_to(vroot)
        drive = rel.parts[-4]
        gt_dir = aroot / rel.parent.parent / "groundtruth" / camera
        img_dir = Path(raw_root) / drive[:10] / drive / camera / "data" if raw_root else None
        for path in sorted(folder.glob("*.png")):
            gt = _existing(gt_dir / path.name)
            if gt is None and require_groundtruth:
                continue
            samples.append(DcSample(f"{drive}_{path.stem}_{camera}", path, gt,
                                    _existing(img_dir / path.name) if img_dir else None))
    return samples
