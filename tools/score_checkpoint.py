"""Score a trained checkpoint next to the learning-free baselines with the held-out-beam protocol.

The checkpoint is loaded by the registry (``get_model(..., checkpoint=...)``, the deployed path:
its model and config come from its own metadata) and every model predicts each frame of each
KITTI raw drive at each held-out variant (32 / 16 lines in, the other rings scored,
occlusion-filtered: ``evaluation.heldout``, the code ``benchmark`` and ``evaluate
--heldout-beams`` use). Prints RMSE / MAE (mm) per drive, variant and model with the change
against ``classical``, and writes them as JSON with ``--json``.

Default drives, frames and variants: the ``kitti_raw`` validation sources of the run's
``config.yaml`` next to the checkpoint, with their ``max_frames`` and the validation's line counts
(so the checkpoint's scores are its validation scores, now through the deployed path). Ends with
the ``predict`` options that load the checkpoint.

Usage: python tools/score_checkpoint.py CHECKPOINT [--drive DIR ...] [--variants 32 16]
           [--baselines classical ip_basic nearest] [--max-frames N] [--device auto]
           [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from depth_completion_ros.evaluation.heldout import VARIANTS


def _validation(checkpoint: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """What the run validated on, from its config.yaml: (drive, frames scored: 0 = all) for each
    kitti_raw source (paths as the run read them: the working directory first, else the
    repository root), and its line counts among the protocol's variants (32, 16)."""
    from depth_completion_ros.training.sources import resolve_path

    config = checkpoint.parent / "config.yaml"
    if not config.is_file():
        return [], []
    validation = (yaml.safe_load(config.read_text()) or {}).get("validation", {})
    limit = int(validation.get("max_frames", 0))
    drives = [(resolve_path(s["path"]), min((n for n in (limit, int(s.get("max_frames", 0)))
                                             if n), default=0))
              for s in validation.get("sources", []) if s.get("kind") == "kitti_raw"]
    return drives, [str(n) for n in validation.get("lines", []) if str(n) in VARIANTS]


def predict_options(checkpoint: Path) -> str:
    """``--model NAME --set KEY=VALUE ...``: the fields of the checkpoint's model config that
    differ from the model's defaults (the loader refuses another architecture)."""
    import dataclasses

    from depth_completion_ros.models import get_entry
    from depth_completion_ros.models.checkpoint import read_checkpoint

    meta, _ = read_checkpoint(checkpoint)
    defaults = dataclasses.asdict(get_entry(meta.model).config_cls())
    changed = [f"--set {key}={value}" for key, value in meta.config.items()
               if defaults.get(key) != value]
    return " ".join([f"--model {meta.model}", *changed, f"--checkpoint {checkpoint}"])


def score(checkpoint: Path, drives: list[tuple[Path, int]], variants: list[str],
          baselines: list[str], *, device: str = "auto") -> dict[str, Any]:
    """{drive: {variant: {model: {rmse_mm, mae_mm, frames, ms_per_frame}}}} over the first
    ``max_frames`` frames of each ``(drive, max_frames)`` (0 = all); the checkpoint's model is
    named ``<model> (<file name>)``."""
    from depth_completion_ros.evaluation.heldout import iter_drive, score_frame
    from depth_completion_ros.metrics.devkit import mean_metrics
    from depth_completion_ros.models import get_model
    from depth_completion_ros.models.checkpoint import read_checkpoint

    meta, _ = read_checkpoint(checkpoint)
    models = {f"{meta.model} ({checkpoint.name})": get_model(
        meta.model, meta.config, checkpoint=checkpoint, device=device)}
    models.update({name: get_model(name, device=device) for name in baselines})
    results: dict[str, Any] = {}
    for drive, max_frames in drives:
        for variant in variants:
            scores: dict[str, list[Any]] = {name: [] for name in models}
            seconds = dict.fromkeys(models, 0.0)
            for index, (rgb, K, frame) in enumerate(iter_drive(drive, variant)):
                if max_frames and index >= max_frames:
                    break
                for name, model in models.items():
                    start = time.perf_counter()
                    depth = model.predict(rgb, frame.sparse, K).depth
                    seconds[name] += time.perf_counter() - start
                    scores[name].append(score_frame(depth, frame))
            table = results.setdefault(str(drive), {}).setdefault(variant, {})
            for name, per_frame in scores.items():
                mean = mean_metrics(per_frame)
                if mean is None:
                    raise SystemExit(f"score_checkpoint: {drive}: no frame to score")
                table[name] = {"rmse_mm": mean.rmse_mm, "mae_mm": mean.mae_mm,
                               "frames": len(per_frame),
                               "ms_per_frame": 1e3 * seconds[name] / len(per_frame)}
    return results


def print_table(results: dict[str, Any]) -> None:
    """One line per drive, variant and model; the change against classical when scored."""
    for drive, variants in results.items():
        print(f"{drive}")
        for variant, table in variants.items():
            base = table.get("classical")
            for name, m in table.items():
                change = ""
                if base is not None and name != "classical":
                    change = (f"  vs classical: RMSE {_percent(m['rmse_mm'], base['rmse_mm'])}, "
                              f"MAE {_percent(m['mae_mm'], base['mae_mm'])}")
                print(f"  {variant} lines in  {name:28} RMSE {m['rmse_mm']:7.0f} mm  MAE "
                      f"{m['mae_mm']:6.0f} mm  ({m['frames']} frames, "
                      f"{m['ms_per_frame']:.0f} ms/frame){change}")


def _percent(value: float, reference: float) -> str:
    return f"{100.0 * (value - reference) / reference:+.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--drive", type=Path, action="append", default=None,
                        help="KITTI raw drive (repeatable; default: the run's validation drives)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=None,
                        help="lines in (default: the run's validation line counts, else both)")
    parser.add_argument("--baselines", nargs="*", default=["classical", "ip_basic", "nearest"])
    parser.add_argument("--max-frames", type=int, default=None,
                        help="frames per drive (0 = all; default: as the run's validation with "
                             "the default drives, else all)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", type=Path, default=None, help="write the scores here")
    args = parser.parse_args(argv)
    drives, variants = _validation(args.checkpoint)
    if args.drive:
        drives = [(drive, 0) for drive in args.drive]
    if args.max_frames is not None:
        drives = [(drive, args.max_frames) for drive, _ in drives]
    if not drives:
        print("score_checkpoint: no drive: give --drive (the run's config.yaml names no "
              "kitti_raw validation source)", file=sys.stderr)
        return 2
    results = score(args.checkpoint, drives, args.variants or variants or list(VARIANTS),
                    args.baselines, device=args.device)
    print_table(results)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"use it: depth-completion predict --kitti-dc DIR {predict_options(args.checkpoint)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
