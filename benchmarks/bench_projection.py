"""Time ``project_to_depth`` of a real ~115k-point KITTI scan into a 1242x375 image.

Prints the median over repeated runs for each frame set, the machine, and two references timed in
the same run on the same data: a straightforward float64 homogeneous projection with a sort-based
z-buffer, and the same with ``np.minimum.at``. Single thread: ``cv2.setNumThreads(1)`` and the BLAS
thread count pinned to 1 (numpy's elementwise work is single-threaded anyway). Uses the 16 shared
frames when present, else the embedded 4-frame sample (KITTI data, CC BY-NC-SA 3.0).

Run: ``.venv/bin/python benchmarks/bench_projection.py [--repeats N]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

# one core: pin BLAS threads before numpy loads (this is a script, never imported by the package)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from depth_completion_ros.geometry.camera import PinholeCamera  # noqa: E402
from depth_completion_ros.geometry.projection import project_to_depth  # noqa: E402
from depth_completion_ros.io.kitti_raw import open_sequence  # noqa: E402
from depth_completion_ros.paths import SAMPLE_DIR, SHARED_DATA_DIR  # noqa: E402


def naive_pixels(points: np.ndarray, T: np.ndarray, cam: PinholeCamera
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference projection in float64 homogeneous form: in-image (u, v) int64 and depth z."""
    hom = np.hstack([points[:, :3].astype(np.float64), np.ones((len(points), 1))])
    img = hom @ (cam.P @ T).T
    z = img[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = np.floor(img[:, 0] / z), np.floor(img[:, 1] / z)
    ok = (z > 0.1) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
    return u[ok].astype(np.int64), v[ok].astype(np.int64), z[ok]


def naive_sort(points: np.ndarray, T: np.ndarray, cam: PinholeCamera) -> np.ndarray:
    """Reference: :func:`naive_pixels` and a sort-based z-buffer."""
    u, v, z = naive_pixels(points, T, cam)
    order = np.argsort(-z)
    out = np.zeros((cam.height, cam.width), np.float32)
    out[v[order], u[order]] = z[order]
    return out


def naive_minimum_at(points: np.ndarray, T: np.ndarray, cam: PinholeCamera) -> np.ndarray:
    """Reference: :func:`naive_pixels` and an ``np.minimum.at`` z-buffer."""
    u, v, z = naive_pixels(points, T, cam)
    out = np.full(cam.height * cam.width, np.inf, np.float32)
    np.minimum.at(out, v * cam.width + u, z.astype(np.float32))
    out[np.isinf(out)] = 0
    return out.reshape(cam.height, cam.width)


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, OpenCV {cv2.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    shared = SHARED_DATA_DIR / "kitti_raw_2011_09_26_seq16"
    root = shared if shared.is_dir() else SAMPLE_DIR
    seq = open_sequence(root)
    T = seq.calibration.lidar_to_camera()
    cam = seq.calibration.camera(2, 1242, 375)
    rows = {"project_to_depth": [], "reference: naive sort z-buffer": [],
            "reference: naive np.minimum.at": []}
    npts = []
    for frame in seq:
        pts = frame.points
        npts.append(len(pts))
        ours = project_to_depth(pts, T, cam)
        if not np.array_equal(ours > 0, naive_sort(pts, T, cam) > 0):
            raise SystemExit(f"frame {frame.index}: project_to_depth and the reference disagree")
        for name, fn in zip(rows, (project_to_depth, naive_sort, naive_minimum_at)):
            rows[name].append(median_ms(lambda fn=fn, pts=pts: fn(pts, T, cam), args.repeats))
    print(f"machine: {machine()}; single thread (cv2 and BLAS threads = 1)")
    print(f"data: {root.name}, {len(npts)} frames, {int(np.mean(npts))} points per scan on "
          "average, "
          f"image 1242x375; median of {args.repeats} runs per frame, then median over frames")
    for name, values in rows.items():
        print(f"  {name:34s} {np.median(values):6.2f} ms  (frames: {min(values):.2f}-"
              f"{max(values):.2f} ms)")
    print("target: <= 3 ms for project_to_depth")


if __name__ == "__main__":
    main()
