"""``depth-completion export``: a learned model's network as an ONNX file.

The model is built as ``get_model`` builds it (the checkpoint read weights-only and loaded
strictly; ``--variant`` names the size its config starts from, ``--model-config`` / ``--set``
the rest, and a checkpoint of another size is refused), on the CPU in fp32. Its network, the
``nn.Module`` after the Preprocessor, is exported
(:mod:`depth_completion_ros.engine.onnx_export`: inputs ``rgb``, ``sparse``, ``K`` as the
adapter feeds them, output ``output``; batch, height and width dynamic unless ``--fixed-size``;
model, config, input spec, opset and checkpoint in the ONNX ``metadata_props``), traced at
``--height`` x ``--width`` (default: the input spec's crop) and checked against eager PyTorch
at an odd size (:func:`~depth_completion_ros.engine.onnx_runtime.checked_export`). Then both
run frame 0 of ``--drive`` (default: the embedded sample) cut bottom-centre to the traced
size: the largest depth (m) and confidence differences are printed, and more than
:data:`PARITY_M` metres is an error (the file stays written, the exit status says so). Needs
the onnx and onnxruntime packages.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from depth_completion_ros.cli.model_options import CONFIG_HELP, SET_HELP, model_config
from depth_completion_ros.engine.onnx_export import ONNX_OPSET
from depth_completion_ros.errors import ModelError
from depth_completion_ros.paths import SAMPLE_DIR

#: largest depth difference (metres) of onnxruntime from eager PyTorch the export accepts
PARITY_M = 1e-4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--model NAME --out FILE.onnx, --checkpoint, --variant, --height / --width, --opset,
    --fixed-size, --drive, --model-config, --set."""
    parser.add_argument("--model", required=True, help="registered learned model name")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="weights file (nlspn and cspn ship none: one is needed)")
    parser.add_argument("--variant", default=None,
                        help="network size the config starts from (small, full; default: the "
                             "model's config defaults)")
    parser.add_argument("--height", type=_positive, default=None,
                        help="network input height to trace and check at (default: the input "
                             "spec's crop, 352 for KITTI)")
    parser.add_argument("--width", type=_positive, default=None,
                        help="network input width (default: the crop's, 1216 for KITTI)")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET,
                        help=f"ONNX opset (>= 16, grid_sample; default {ONNX_OPSET})")
    parser.add_argument("--fixed-size", action="store_true",
                        help="fix batch 1 and --height x --width instead of dynamic axes")
    parser.add_argument("--drive", type=Path, default=SAMPLE_DIR,
                        help="KITTI raw drive whose frame 0 checks the export (default: the "
                             "embedded sample)")
    parser.add_argument("--model-config", metavar="FILE", type=Path, default=None,
                        help=CONFIG_HELP)
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        dest="overrides", help=SET_HELP)
    parser.add_argument("--out", required=True, type=Path, help="the .onnx file to write")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Export, check, print two lines; returns 0 (2 through ModelError on a failed check)."""
    from depth_completion_ros.engine.onnx_export import model_metadata
    from depth_completion_ros.engine.onnx_runtime import (
        checked_export,
        compare_with_torch,
        exportable,
    )
    from depth_completion_ros.models import get_entry, get_model
    from depth_completion_ros.models.registry import build_config

    entry = get_entry(args.model)
    config = _config(entry, args)
    typed = build_config(entry.config_cls, config, source=f"config of model {args.model!r}")
    model = get_model(args.model, config, checkpoint=args.checkpoint, device="cpu")
    learned = exportable(model)
    network, spec = learned.engine.module, learned.input_spec
    size = (args.height or spec.crop.height or 352, args.width or spec.crop.width or 1216)
    export, session = checked_export(network, spec, size=size, dynamic=not args.fixed_size,
                                     opset=args.opset,
                                     metadata=model_metadata(args.model, typed, spec,
                                                             args.checkpoint,
                                                             learned.engine.notes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(export.data)
    axes = "fixed size" if args.fixed_size else "batch, height and width dynamic"
    print(f"export: model {args.model} -> {args.out} ({len(export.data) / 1e6:.1f} MB, opset "
          f"{args.opset}, inputs {', '.join(export.inputs)}; traced at {size[1]}x{size[0]}, "
          f"{axes})")
    parity = compare_with_torch(network, session, _frame_inputs(args.drive, spec, size),
                                spec.depth_scale)
    print(f"export: onnxruntime vs PyTorch on frame 0 of {args.drive.name} "
          f"({parity.width}x{parity.height} network input): largest depth difference "
          f"{parity.depth_m:.2g} m, confidence {parity.confidence:.2g}")
    if not parity.depth_m <= PARITY_M:
        raise ModelError(f"{args.out}: onnxruntime's depth differs from PyTorch's by "
                         f"{parity.depth_m:.3g} m (> {PARITY_M:g} m)")
    return 0


def _config(entry: Any, args: argparse.Namespace) -> dict[str, Any]:
    """``--variant``'s config overrides, then ``--model-config`` / ``--set`` over them.

    Raises:
        ModelError: not a learned model, or no such size.
    """
    from depth_completion_ros.engine.speed import variant_config

    if entry.network is None:
        raise ModelError(f"model {entry.name!r} is not a learned model: it has no network to "
                         f"export")
    base: dict[str, Any] = {}
    if args.variant is not None:
        variant_config(entry, args.variant)  # names the sizes when there is no such one
        base = dict(entry.network.variants[args.variant])
    return {**base, **model_config(args, entry.name)}


def _frame_inputs(drive: Path, spec: Any, size: tuple[int, int]) -> dict[str, Any]:
    """Network inputs of frame 0 of ``drive`` cut bottom-centre to ``size`` = (height, width)
    (the Preprocessor's crop clamps to it)."""
    import torch

    from depth_completion_ros.engine.preprocess import Preprocessor, crop_intrinsics
    from depth_completion_ros.engine.speed import drive_frame
    from depth_completion_ros.geometry.crop import Crop

    rgb, sparse, K = drive_frame(drive)
    x0, y0, w, h = Crop(size[1], size[0]).box(*sparse.shape, clamp=True)
    rgb_t = torch.from_numpy(rgb[y0:y0 + h, x0:x0 + w].copy()).permute(2, 0, 1)[None]
    sparse_t = torch.from_numpy(sparse[y0:y0 + h, x0:x0 + w].copy())[None, None]
    K_t = crop_intrinsics(torch.from_numpy(K)[None], (x0, y0, w, h))
    with torch.inference_mode():
        inputs: dict[str, Any] = Preprocessor(spec)(rgb_t, sparse_t, K_t)
    return inputs
