"""``depth-completion predict``: run a model over a KITTI ``val_selection_cropped`` folder.

Writes, per input, ``OUTDIR/<velodyne_raw file name>`` as a uint16 PNG (depth x 256, 0 = no
estimate: the KITTI submission format; the official devkit fills such pixels from their
neighbours before scoring, e.g. the rows above the LiDAR's field of view) and
``OUTDIR/confidence/<same name>`` as a uint16 PNG of ``round(confidence * 65535)``. Prints one
summary line with the median model time per frame.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.cli.model_options import add_model_options, model_config
from depth_completion_ros.devices import Device
from depth_completion_ros.errors import DataFormatError, InputError
from depth_completion_ros.io.depth_png import write_depth_png
from depth_completion_ros.io.kitti_dc import list_depth_selection, selection_file_names
from depth_completion_ros.models import get_model
from depth_completion_ros.models.engine_choice import with_engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--kitti-dc DIR --model NAME --out OUTDIR, and the model's options.

    Model options: ``--model-config FILE``, ``--set KEY=VALUE`` (repeatable), ``--checkpoint
    FILE``, ``--device auto|cpu|cuda``, ``--precision fp32|fp16|bf16``, ``--engine
    torch|onnxruntime``.
    """
    parser.add_argument("--kitti-dc", required=True, type=Path,
                        help="folder with image/, velodyne_raw/, intrinsics/")
    parser.add_argument("--model", default="classical", help="registered model name")
    parser.add_argument("--checkpoint", type=Path, default=None, help="weights file")
    parser.add_argument("--device", choices=Device.choices(), default=Device.AUTO.value)
    add_model_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="output folder")


def write_confidence_png(path: Path, confidence: np.ndarray) -> None:
    """(H, W) confidence in [0, 1] as a uint16 PNG of ``round(c * 65535)``."""
    encoded = np.round(np.clip(np.nan_to_num(confidence), 0.0, 1.0) * 65535).astype(np.uint16)
    if not cv2.imwrite(str(path), encoded):
        raise DataFormatError(f"cannot write {path}")


def run(args: argparse.Namespace) -> int:
    """Predict every sample; returns 0."""
    model = with_engine(get_model(args.model, model_config(args, args.model),
                                  checkpoint=args.checkpoint, device=args.device,
                                  precision=args.precision), args.engine)
    for note in getattr(getattr(model, "engine", None), "notes", ()):  # fallbacks, file format
        print(f"predict: note: {note}", file=sys.stderr)
    samples = list_depth_selection(args.kitti_dc)
    for sample in samples:  # before writing anything
        for part, path in (("image", sample.image_path), ("intrinsics", sample.intrinsics_path)):
            if path is None:  # name the very file list_depth_selection looked for
                expected = selection_file_names(sample.sparse_path.name)[part]
                raise InputError(f"{args.kitti_dc}: {sample.sparse_path.name} has no {part} "
                                 f"file (expected {part}/{expected})")
    (args.out / "confidence").mkdir(parents=True, exist_ok=True)
    times = []
    for sample in samples:
        frame = sample.load()
        assert frame.K is not None  # every sample's intrinsics file was checked above
        start = time.perf_counter()
        out = model.predict(frame.rgb, frame.sparse, frame.K)
        times.append(1e3 * (time.perf_counter() - start))
        write_depth_png(args.out / sample.sparse_path.name, np.nan_to_num(out.depth, nan=0.0))
        write_confidence_png(args.out / "confidence" / sample.sparse_path.name, out.confidence)
    print(f"predict: model {args.model}, {len(samples)} frames -> {args.out}, "
          f"median model time {np.median(times):.1f} ms/frame")
    return 0
