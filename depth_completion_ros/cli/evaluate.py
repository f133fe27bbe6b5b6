"""``depth-completion evaluate BAG --model NAME (--gt GT_DIR | --heldout-beams) --report DIR``.

Offline (default): the node's pipeline over the bag frame by frame. ``--online``: the live node
(a subprocess) fed by a replay of the bag, its outputs recorded and scored. Prints a table with
every devkit metric; writes CSV, JSON and a Markdown report with figures.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from depth_completion_ros.bag.topics import kitti_topics
from depth_completion_ros.cli.model_options import add_model_options, model_config
from depth_completion_ros.devices import Device
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.evaluation.scoring import RING_SOURCES
from depth_completion_ros.geometry.beams import SWEEP_LINES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = kitti_topics(2)
    parser.add_argument("bag", metavar="BAG",
                        help="rosbag2 folder (or .mcap / .db3 file), or a ROS 1 .bag file")
    parser.add_argument("--model", required=True, help="registered model name")
    truth = parser.add_mutually_exclusive_group(required=True)
    truth.add_argument("--gt", metavar="GT_DIR", help="KITTI depth-completion drive folder "
                       "(proj_depth/groundtruth/image_02/%%010d.png)")
    truth.add_argument("--heldout-beams", action="store_true",
                       help="score on LiDAR beams hidden from the model (no ground truth needed)")
    parser.add_argument("--lines", type=int, choices=SWEEP_LINES, default=None,
                        help="LiDAR lines given to the model; default: the whole sweep "
                             "(64/32/16/8/4/0; without 64 for held-out beams; online: 32)")
    parser.add_argument("--report", required=True, metavar="DIR", help="report folder")
    parser.add_argument("--json", metavar="FILE", help="JSON file (default: DIR/metrics.json)")
    parser.add_argument("--save-predictions", metavar="DIR",
                        help="write predictions and ground truth as KITTI 16-bit PNGs, named "
                             "by KITTI frame number (%%010d.png), else by image stamp (ns)")
    parser.add_argument("--online", action="store_true",
                        help="replay the bag through the live node and score its outputs")
    parser.add_argument("--image-topic", default=defaults.image,
                        help="sensor_msgs/Image or CompressedImage (JPEG, PNG) topic; a "
                             "missing one is looked for as <topic>/compressed")
    parser.add_argument("--camera-info-topic", default=defaults.camera_info)
    parser.add_argument("--points-topic", default=defaults.points)
    calib = parser.add_mutually_exclusive_group()
    calib.add_argument("--lidar-to-camera", type=float, nargs=16, metavar="X",
                       help="4x4 LiDAR -> camera optical frame, row-major (default: /tf_static)")
    calib.add_argument("--calib", metavar="FILE", help="KITTI calib.txt or raw date folder")
    parser.add_argument("--camera", type=int, choices=(2, 3), default=2,
                        help="KITTI camera of --calib / --gt (default 2)")
    parser.add_argument("--gt-timestamps", metavar="FILE",
                        help="the drive's image timestamps.txt: match --gt by stamp, not index")
    parser.add_argument("--rings", choices=RING_SOURCES, default="auto",
                        help="ring per point: auto (default) = the cloud's ring field when it has "
                             "one, else the held-out protocol's estimate (the estimate on bags "
                             "converted from KITTI); estimate; field. A frame whose rings do not "
                             "fit the scan is skipped with the reason")
    parser.add_argument("--raw", action="store_true",
                        help="raw (distorted) images: project with camera_info K and D, as the "
                             "node does with use_rectified false (default: rectified, P)")
    parser.add_argument("--crop", type=int, nargs="+", metavar="N",
                        help="scored region: W H (bottom-centre) or X0 Y0 W H; default: KITTI's "
                             "1216x352 crop for KITTI-size images, else the region the LiDAR "
                             "covers (held-out beams) or the full image (--gt)")
    parser.add_argument("--dropout-model", default=None,
                        help="RGB-only model serving frames without LiDAR (0 lines)")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--device", default=Device.AUTO.value, choices=Device.choices())
    add_model_options(
        parser, config_help="model preset of --model (config/models/*.yaml format: model, "
                            "config, description); the dropout model keeps its defaults",
        set_help="override one field of --model's config, e.g. blur_px=9 (value read as YAML); "
                 "repeatable; wins over --model-config")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="online: replay rate factor (the node's sync timeouts are divided "
                             "by it: it pairs as at real time)")
    parser.add_argument("--warm-up", action="store_true",
                        help="online: replay the bag once before the scored pass (latency)")
    parser.add_argument("--dropout-sweep", action="store_true",
                        help="with --heldout-beams: score --model on the scan of each --ages "
                             "earlier (stale-scan tier) against --dropout-model on the image "
                             "alone (RGB-only), on the current frame's hidden beams; prints the "
                             "age at which RGB-only wins (the node's stale_scan_max_age)")
    parser.add_argument("--ages", type=float, nargs="+", metavar="S", default=None,
                        help="--dropout-sweep: scan ages in seconds, ascending from 0 "
                             "(default 0 0.1 0.3 0.5 1 2)")


def run(args: argparse.Namespace) -> int:
    from depth_completion_ros.evaluation.report import display_path
    from depth_completion_ros.evaluation.session import EvaluationRequest, run_evaluation

    config = model_config(args, args.model)  # before the bag is read: a bad key ends at once
    request = EvaluationRequest(
        bag=Path(args.bag), model=args.model, report=Path(args.report),
        gt_dir=Path(args.gt) if args.gt else None, lines=args.lines,
        json_path=Path(args.json) if args.json else None,
        save_predictions=Path(args.save_predictions) if args.save_predictions else None,
        online=args.online, image_topic=args.image_topic,
        camera_info_topic=args.camera_info_topic, points_topic=args.points_topic,
        lidar_to_camera=tuple(args.lidar_to_camera) if args.lidar_to_camera else None,
        calib=args.calib, camera=args.camera, gt_timestamps=args.gt_timestamps,
        ring_source=args.rings, dropout_model=args.dropout_model, checkpoint=args.checkpoint,
        device=args.device, rate=args.rate, warm_up=args.warm_up, model_config=config,
        precision=args.precision, engine=args.engine, raw=args.raw, crop=_crop(args.crop))
    if args.dropout_sweep:
        return _sweep(request, args.ages)
    online = None
    if args.online:
        from depth_completion_ros.ros.online_evaluation import evaluate_online
        online = evaluate_online
    outcome = run_evaluation(request, online)
    print(outcome.table)
    print(f"report: {display_path(outcome.report)}")
    print(f"json: {display_path(outcome.json_path)}  csv: {display_path(outcome.csv_path)}")
    return 0


def _sweep(request: object, ages: list[float] | None) -> int:
    """``--dropout-sweep``: print the table and where it went."""
    from depth_completion_ros.evaluation.dropout_sweep import DEFAULT_AGES, run_dropout_sweep
    from depth_completion_ros.evaluation.report import display_path
    from depth_completion_ros.evaluation.session import EvaluationRequest

    assert isinstance(request, EvaluationRequest)
    result, path = run_dropout_sweep(request, tuple(ages) if ages else DEFAULT_AGES)
    print(result.table())
    print(f"report: {display_path(path)}")
    return 0


def _crop(numbers: list[int] | None) -> tuple[int, ...] | None:
    """``--crop`` as a tuple, checked for its count before the bag is read."""
    if numbers is None:
        return None
    if len(numbers) not in (2, 4):
        raise ConfigError(f"--crop takes W H or X0 Y0 W H, got {len(numbers)} numbers")
    return tuple(numbers)
