"""Training frames from dataset folders: LiDAR scans (self-supervision) or depth maps (KITTI DC).

Three layouts (:data:`~depth_completion_ros.training.sections.SOURCE_KINDS`):

* ``kitti_raw``: any folder :func:`~depth_completion_ros.io.kitti_raw.open_sequence` reads (the
  flat sample layout or the official ``<date>/<drive>_sync`` one);
* ``kitti_object``: ``image_2/<name>.png``, ``velodyne/<name>.bin``, ``calib/<name>.txt``;
* ``kitti_dc``: ``data_depth_velodyne`` + ``data_depth_annotated`` with the raw RGB
  (:func:`~depth_completion_ros.io.kitti_dc.list_depth_annotated`); intrinsics from the raw
  day's calibration.

Scan frames carry the held-out protocol's ring estimate (``estimate_rings(cut="pi")``). Only a
full 360-degree scan has one ring per beam turn; a scan whose estimate gives another ring count
than a 64-beam sensor (e.g. the object benchmark's field-of-view-cropped scans: 1 ring) is
skipped and the reason logged, since its beam split would be meaningless.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.arrays import Float32Array, Float64Array, IntArray, UInt8Array
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.geometry.beams import TOTAL_LINES
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_calib import read_object_calib, read_raw_calib
from depth_completion_ros.io.kitti_dc import list_depth_annotated
from depth_completion_ros.io.kitti_raw import open_sequence, read_rgb, read_velodyne_bin
from depth_completion_ros.paths import REPO_ROOT
from depth_completion_ros.training.sections import SourceConfig

LOG = logging.getLogger(__name__)

#: ring counts of a plausible full scan under the protocol's ``cut="pi"`` rule (64 beams, 65
#: when the scan starts in front of the car, as KITTI's do)
PLAUSIBLE_RINGS = (TOTAL_LINES, TOTAL_LINES + 1)


@dataclass(frozen=True)
class ScanFrame:
    """A frame with its LiDAR scan.

    Attributes:
        name: source and frame, for logs.
        rgb: (H, W, 3) uint8 RGB.
        points: (N, 4) float32 LiDAR points, metres, in scan order.
        rings: (N,) ring per point (the protocol's estimate).
        lidar_to_camera: (4, 4) LiDAR -> rectified camera.
        camera: the image's camera (size = the image's).
    """

    name: str
    rgb: UInt8Array
    points: Float32Array
    rings: IntArray
    lidar_to_camera: Float64Array
    camera: PinholeCamera


@dataclass(frozen=True)
class DepthFrame:
    """A supervised frame: RGB (H, W, 3) uint8, sparse and ground-truth depth (H, W) float32
    metres (0 = none), K (3, 3)."""

    name: str
    rgb: UInt8Array
    sparse: Float32Array
    groundtruth: Float32Array
    K: Float64Array


Frame = ScanFrame | DepthFrame
#: reads one frame when called (frames are listed first, read lazily)
FrameLoader = Callable[[], Frame]


def resolve_path(path: str) -> Path:
    """``path`` as given when absolute or present from the working directory, else relative to
    the repository root (configs name data relative to it)."""
    given = Path(path)
    if given.is_absolute() or given.exists():
        return given
    return REPO_ROOT / given


def list_frames(source: SourceConfig) -> list[tuple[str, FrameLoader]]:
    """(name, loader) of each frame of ``source`` in name order, the first ``skip_frames``
    left out, then the first ``max_frames`` when set.

    Raises:
        DataFormatError: a missing folder or one without the layout's files.
        CalibrationError: malformed calibration.
    """
    root = resolve_path(source.path)
    if not root.exists():
        raise DataFormatError(f"training data: {source.kind} folder {source.path} does not "
                              f"exist")
    if source.kind == "kitti_dc":
        frames = _dc_frames(root, source)
    else:
        frames = _raw_frames(root) if source.kind == "kitti_raw" else _object_frames(root)
    frames = frames[source.skip_frames:]
    return frames[:source.max_frames] if source.max_frames else frames


def ring_problem(rings: IntArray) -> str | None:
    """Why a scan's ring estimate cannot split beams, or None when plausible."""
    count = int(rings.max()) + 1 if rings.size else 0
    if count not in PLAUSIBLE_RINGS:
        return (f"ring estimate gives {count} ring(s), a full 64-beam scan gives "
                f"{' or '.join(map(str, PLAUSIBLE_RINGS))} (not a full 360-degree scan?)")
    return None


def _raw_frames(root: Path) -> list[tuple[str, FrameLoader]]:
    sequence = open_sequence(root)

    def loader(i: int) -> FrameLoader:
        def load() -> Frame:
            frame = sequence.frame(i)
            height, width = frame.image.shape[:2]
            return _scan(f"{root.name}/{frame.index:010d}", frame.image, frame.points,
                         frame.calibration.lidar_to_camera(),
                         frame.calibration.camera(2, width, height))
        return load
    return [(f"{root.name}/{path.stem}", loader(i))
            for i, path in enumerate(sequence.image_paths)]


def _object_frames(root: Path) -> list[tuple[str, FrameLoader]]:
    names = sorted(p.stem for p in (root / "velodyne").glob("*.bin"))
    if not names:
        raise DataFormatError(f"{root}: no velodyne/*.bin (not a KITTI object layout)")

    def loader(name: str) -> FrameLoader:
        def load() -> Frame:
            rgb = read_rgb(root / "image_2" / f"{name}.png")
            calibration = read_object_calib(root / "calib" / f"{name}.txt")
            return _scan(f"{root.name}/{name}", rgb,
                         read_velodyne_bin(root / "velodyne" / f"{name}.bin"),
                         calibration.lidar_to_camera(),
                         calibration.camera(2, rgb.shape[1], rgb.shape[0]))
        return load
    return [(f"{root.name}/{name}", loader(name)) for name in names]


def _dc_frames(root: Path, source: SourceConfig) -> list[tuple[str, FrameLoader]]:
    annotated = resolve_path(source.annotated) if source.annotated else root
    samples = list_depth_annotated(root, annotated, raw_root=resolve_path(source.raw))

    def loader(index: int) -> FrameLoader:
        def load() -> Frame:
            sample = samples[index]
            if sample.image_path is None:
                raise DataFormatError(f"{source.raw}: no RGB image for {sample.name}")
            frame = sample.load()
            assert frame.rgb is not None and frame.groundtruth is not None
            height, width = frame.rgb.shape[:2]
            day = sample.image_path.parents[3]  # <raw>/<date>/<drive>/image_02/data/x.png
            K = read_raw_calib(day).camera(2, width, height).intrinsics()
            return DepthFrame(sample.name, frame.rgb, frame.sparse, frame.groundtruth, K)
        return load
    return [(sample.name, loader(i)) for i, sample in enumerate(samples)]


def _scan(name: str, rgb: UInt8Array, points: Float32Array, lidar_to_camera: Float64Array,
          camera: PinholeCamera) -> ScanFrame:
    return ScanFrame(name, rgb, points, estimate_rings(points, cut="pi"), lidar_to_camera,
                     camera)
