"""``depth-completion``: one entry point, one module per subcommand.

Each subcommand module in :data:`SUBCOMMANDS` exposes ``add_arguments(parser)`` and
``run(args) -> int``. Library code raises
:class:`~depth_completion_ros.errors.DepthCompletionError`; this layer prints it as one line on
stderr and returns exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

#: subcommand name -> (module under depth_completion_ros.cli, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run the whole pipeline on the embedded KITTI sample"),
    "models": ("models", "list the registered models"),
    "predict": ("predict", "run a model over a KITTI depth-completion folder"),
    "evaluate": ("evaluate", "score a model on a bag against ground truth or held-out beams"),
    "convert": ("convert", "convert a KITTI raw drive into a rosbag2"),
    "replay": ("replay", "publish a bag through rclpy with its original timing"),
    "calib": ("calib", "print a bag's /tf_static as the node's lidar_to_camera parameter"),
    "train": ("train", "train a learned model (self-supervised on held-out LiDAR beams, or KITTI)"),
    "benchmark": ("benchmark", "score and time models on a KITTI drive (held-out beams)"),
    "export": ("export", "export a learned model's network to ONNX (checked against PyTorch)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depth-completion",
        description="Camera + LiDAR depth completion: models, KITTI prediction, bag conversion, "
                    "replay and evaluation (run any subcommand with -h for its options).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        _load(module).add_arguments(p)
    return parser


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"depth_completion_ros.cli.{module}")


def main(argv: list[str] | None = None) -> int:
    from depth_completion_ros.errors import DepthCompletionError

    args = build_parser().parse_args(argv)
    try:
        return int(_load(args._module).run(args) or 0)
    except DepthCompletionError as err:
        print(f"depth-completion {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
