"""``depth-completion demo --out DIR``: the whole story on the embedded KITTI sample.

1. projection: for every frame ``overlay_<frame>.png`` (LiDAR points coloured by depth, 0-50 m,
   over the RGB image) and ``sparse_<frame>.png`` (the sparse depth as a KITTI 16-bit PNG);
2. the sample converted to a rosbag2 (``DIR/sample_bag``);
3. the bag replayed through the live node (a subprocess), its outputs recorded and scored with the
   held-out-beam protocol (32 lines in, the other 32 hidden), report written to ``DIR/report``
   (``--offline``: the node's pipeline in this process instead; ``--projection-only``: step 1);
4. the line-count sweep (32 / 16 / 8 / 4 / 0 lines in, offline: the node's pipeline in this
   process) written to ``DIR/report/sweep`` and summarised in the report (RMSE vs lines and vs
   distance); 0 lines is LiDAR dropout, "not servable" unless an RGB-only model is given.

It prints the metrics table and where the report is. The data is KITTI (CC BY-NC-SA 3.0, Geiger
et al., IJRR 2013).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.geometry.crop import KITTI_CROP, Crop, cut
from depth_completion_ros.geometry.projection import project_points, zbuffer
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.io.kitti_raw import KittiFrame, open_sequence
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.viz import overlay_points

#: KITTI depth-completion crop: bottom-centre 1216x352 of the 1242x375 image.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out/demo"),
                        help="output folder (default: out/demo)")
    parser.add_argument("--data", type=Path, default=SAMPLE_DIR,
                        help="KITTI raw folder, either layout (default: the embedded sample)")
    parser.add_argument("--drive", default=None, help="drive name part when --data holds several")
    parser.add_argument("--model", default="classical",
                        help="model to evaluate (default classical)")
    parser.add_argument("--offline", action="store_true",
                        help="evaluate with the node's pipeline in-process, not the live node")
    parser.add_argument("--projection-only", action="store_true",
                        help="only step 1 (overlays and sparse PNGs)")
    parser.add_argument("--dropout-model", default=None,
                        help="RGB-only model for the 0-line point of the sweep (default: none)")


def crop_density(sparse: np.ndarray, crop: Crop = KITTI_CROP) -> float:
    """Fraction of pixels with depth in the bottom-centre crop of (H, W) depth."""
    region = cut(sparse, crop.box(*sparse.shape, clamp=True))
    return float(np.count_nonzero(region)) / region.size


def process_frame(frame: KittiFrame, out: Path) -> tuple[int, float]:
    """Write the overlay and sparse PNGs of one frame; return (points in view, crop density)."""
    h, w = frame.image.shape[:2]
    calib = frame.calibration
    proj = project_points(frame.points, calib.lidar_to_camera(), calib.camera(2, w, h))
    sparse = zbuffer(proj, h, w)
    write_depth_png(out / f"sparse_{frame.index:010d}.png", sparse)
    overlay = overlay_points(frame.image, proj.u, proj.v, proj.depth, vmax=50.0, radius=1)
    path = out / f"overlay_{frame.index:010d}.png"
    if not cv2.imwrite(str(path), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR)):
        raise DataFormatError(f"{path}: cannot write overlay PNG")
    return len(proj.u), crop_density(sparse)


def run(args: argparse.Namespace) -> int:
    from depth_completion_ros.evaluation.report import display_path

    seq = open_sequence(args.data, drive=args.drive)
    args.out.mkdir(parents=True, exist_ok=True)
    stats = [process_frame(frame, args.out) for frame in seq]
    points = [s[0] for s in stats]
    dens = [100 * s[1] for s in stats]
    print(f"demo: {len(stats)} frames from {display_path(args.data)}, {np.mean(points):.0f} "
          f"LiDAR points in view per frame, density in the {KITTI_CROP.width}x{KITTI_CROP.height} "
          f"crop {min(dens):.2f}-{max(dens):.2f} %, wrote overlay_*.png and sparse_*.png to "
          f"{display_path(args.out)} "
          f"(KITTI data, CC BY-NC-SA 3.0)")
    if not args.projection_only:
        full_story(args)
    return 0


def full_story(args: argparse.Namespace) -> None:
    """Steps 2 to 4 of the module docstring."""
    from depth_completion_ros.bag.convert import convert_kitti
    from depth_completion_ros.evaluation.report import append_section, display_path
    from depth_completion_ros.evaluation.session import EvaluationRequest, run_evaluation

    bag = args.out / "sample_bag"
    if bag.exists():
        shutil.rmtree(bag)
    summary = convert_kitti(args.data, bag, drive=args.drive)
    print(f"demo: wrote bag {display_path(bag)} ({summary.frames} frames"
          f"{'' if summary.real_stamps else ', no timestamps in the sample: 10 Hz assumed'})")
    how = "the node's pipeline (offline)" if args.offline else "the live node (replayed bag)"
    print(f"demo: evaluating {args.model} through {how}, held-out beams, 32 lines in ...")
    report = args.out / "report"
    online = None
    if not args.offline:
        from depth_completion_ros.ros.online_evaluation import evaluate_online
        online = evaluate_online
    outcome = run_evaluation(EvaluationRequest(
        bag=bag, model=args.model, report=report, lines=32, online=not args.offline,
        save_predictions=report / "predictions", dropout_model=args.dropout_model), online)
    print(outcome.table)
    print("demo: line-count sweep 32/16/8/4/0 (offline, the node's pipeline) ...")
    sweep = run_evaluation(EvaluationRequest(
        bag=bag, model=args.model, report=report / "sweep", dropout_model=args.dropout_model))
    print(sweep.table)
    append_section(outcome.report, "Line-count sweep (offline, the node's pipeline)", [
        "Same bag, same held-out-beam protocol, fewer input lines (0 = LiDAR dropout). "
        "Full report: [sweep/report.md](sweep/report.md).", "",
        "```", sweep.table, "```", "",
        "![rmse_vs_lines](sweep/rmse_vs_lines.png)",
        "![rmse_vs_distance](sweep/rmse_vs_distance.png)"])
    print(f"demo: report written to {display_path(outcome.report)}")
