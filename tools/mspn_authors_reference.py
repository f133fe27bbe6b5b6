"""Run the MSPN authors' own propagation code on fixed inputs and store its outputs, so that
``test/models/test_mspn.py`` can check ``mspn_propagate`` against them (issue 10, acceptance 1).

This needs what this repository cannot ship or install: a checkout of jyjunmcl/MSPN_SDR (MIT)
and the NATTEN release its ``lib/model/MSPN.py`` imports (``natten.natten2d.natten2dqkrpb`` and
``natten2dav``, NATTEN 0.14-0.17; NATTEN 0.20 and later dropped these functions and relative
position biases, and PyPI carries only those later releases), plus timm. Their code is imported
from the checkout given on the command line and run as it is; nothing of it is copied here.

Inputs (written into the same file, so the test needs only the file): frame 0 of the embedded
KITTI sample, sparse depth at 64 or 4 lines on a 56x200 window of the 1216x352 crop (the window
that holds the most 4-line points), the count of valid pixels of that line count in the whole
crop (the authors' ``num_sample``), a smooth D0, random guidance (L = 8) and random weights for
both propagation layers under the authors' names (seeded: ``torch.manual_seed(lines)``). Their
``SDR.forward`` writes the sparse depths into D0 and passes ``mask_init = (dep > 0)``; this
script does the same and calls their ``MSPN`` module (``data_name='KITTIDC'``, ``mode='SDR'``,
``prop_time=6``), then clamps at 0 as ``SDR.forward`` does.

Run on a machine with their code and NATTEN (CPU or CUDA)::

    python tools/mspn_authors_reference.py --authors-repo PATH/TO/MSPN_SDR
    # writes test/models/golden/mspn_authors_64.npz and mspn_authors_4.npz; commit them

Data: KITTI (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from depth_completion_ros.evaluation.heldout import iter_drive_scans
from depth_completion_ros.geometry.beams import input_mask
from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.paths import SAMPLE_DIR

EMBED = 8
WINDOW = (56, 200)
OUT = Path(__file__).resolve().parents[1] / "test" / "models" / "golden"


def inputs(lines: int) -> dict[str, np.ndarray]:
    """The fixed inputs of one line count (see the module docstring)."""
    scan = next(iter_drive_scans(SAMPLE_DIR, 1))
    box = KITTI_CROP.box(scan.camera.height, scan.camera.width)
    crops = {n: cut(project_to_depth(scan.points[input_mask(scan.rings, n)],
                                     scan.lidar_to_camera, scan.camera), box)
             for n in (lines, 4)}
    per_row = (crops[4][:, 500:700] > 0).sum(1)
    y0 = int(np.argmax(np.convolve(per_row, np.ones(WINDOW[0]), "valid")))
    sparse = crops[lines][y0:y0 + WINDOW[0], 500:500 + WINDOW[1]].copy()
    torch.manual_seed(lines)
    arrays: dict[str, np.ndarray] = {}
    for name in ("mspn", "mspn_2nd"):
        arrays[f"prop_layer.{name}.rpb"] = (torch.randn(1, 25, 25) * 0.5).numpy()
        arrays[f"prop_layer.{name}.norm1.weight"] = (1 + 0.2 * torch.randn(EMBED)).numpy()
        arrays[f"prop_layer.{name}.norm1.bias"] = (0.2 * torch.randn(EMBED)).numpy()
        arrays[f"prop_layer.{name}.conv.weight"] = (
            0.2 * torch.randn(2 * EMBED, EMBED + 1, 1, 1)).numpy()
        arrays[f"prop_layer.{name}.conv.bias"] = (0.1 * torch.randn(2 * EMBED)).numpy()
    rows = np.arange(WINDOW[0], dtype=np.float32)[::-1, None]
    arrays["guidance"] = torch.randn(1, EMBED, *WINDOW).numpy()
    arrays["initial_depth"] = np.broadcast_to(8 + 0.5 * rows, WINDOW)[None, None].astype(
        np.float32)
    arrays["sparse_depth"] = sparse[None, None].astype(np.float32)
    arrays["num_samples"] = np.array(int((crops[lines] > 0).sum()))
    return arrays


def run_authors(repo: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Their MSPN module on ``arrays``; outputs as ``mspn_propagate`` names them."""
    sys.path.insert(0, str(repo))
    from lib.model.MSPN import MSPN  # their code, from their checkout

    args = SimpleNamespace(data_name="KITTIDC", mode="SDR", embed_dim=EMBED, prop_time=6)
    module = MSPN(args).eval()
    state = {key.removeprefix("prop_layer."): torch.from_numpy(value)
             for key, value in arrays.items() if key.startswith("prop_layer.")}
    module.load_state_dict(state, strict=True)
    guide = torch.from_numpy(arrays["guidance"])
    d0 = torch.from_numpy(arrays["initial_depth"])
    dep = torch.from_numpy(arrays["sparse_depth"])
    mask = (dep > 0).float()
    pred_init = d0 * (1 - mask) + dep * mask
    samples = torch.tensor([float(arrays["num_samples"])])
    feats: list[torch.Tensor] = []
    masks: list[torch.Tensor] = []
    with torch.no_grad():
        y, feats, masks = module(pred_init, feats, masks, guide, dep, mask, samples)
    n1 = len(feats) - 6
    return {"depth": torch.clamp(y, min=0).numpy(), "stage1": feats[n1 - 1].numpy(),
            "mask1": masks[n1 - 1].numpy(), "mask2": masks[-1].numpy(),
            "iterations": np.array([n1, 6])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors-repo", type=Path, required=True,
                        help="a checkout of jyjunmcl/MSPN_SDR")
    parser.add_argument("--lines", type=int, nargs="+", default=[64, 4])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for lines in args.lines:
        arrays = inputs(lines)
        outputs = run_authors(args.authors_repo, arrays)
        path = args.out / f"mspn_authors_{lines}.npz"
        np.savez_compressed(path, **arrays, **{f"out_{k}": v for k, v in outputs.items()})
        print(f"{path}: N1 + N2 = {outputs['iterations'].tolist()}")


if __name__ == "__main__":
    main()
