"""One frame of the embedded sample as models see it, the output convention models keep, and
weights / inputs from formulas for the learned models' golden outputs."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.base import CompletionOutput, DepthModel, ModelInput


@dataclass(frozen=True)
class SampleFrame:
    """Frame 0 of the embedded sample, all 64 lines: rgb (H, W, 3) uint8, sparse (H, W) float32
    metres (0 = none), K (3, 3) float64 rectified intrinsics."""

    rgb: np.ndarray
    sparse: np.ndarray
    K: np.ndarray


def load_sample_frame(sample_dir: Path) -> SampleFrame:
    """Frame 0 of the sample projected with its calibration (all points, min depth 0.1 m)."""
    frame = open_sequence(sample_dir).frame(0)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    sparse = project_to_depth(frame.points[:, :3], frame.calibration.lidar_to_camera(), camera)
    return SampleFrame(frame.image, np.asarray(sparse, np.float32),
                       camera.intrinsics(rectified=True))


@pytest.fixture(scope="session")
def sample_frame(sample_dir: Path) -> SampleFrame:
    """:func:`load_sample_frame` of the embedded sample."""
    return load_sample_frame(sample_dir)


def run_on_sample(model: DepthModel, frame: SampleFrame) -> CompletionOutput:
    """``model.predict`` with the inputs its spec accepts (the others None)."""
    accepted = model.spec.accepted
    return model.predict(frame.rgb if ModelInput.RGB in accepted else None,
                         frame.sparse if ModelInput.SPARSE_DEPTH in accepted else None, frame.K)


def assert_output_convention(out: CompletionOutput, frame: SampleFrame, *,
                             near_lidar: bool = True) -> None:
    """Full size float32; confidence in [0, 1] and 0 exactly where depth is NaN; positive depth;
    finite at >= 95 % of the measured pixels (a network's crop may leave the outermost columns
    out) and, with ``near_lidar``, near the LiDAR's values there (median relative error < 5 %;
    a model that also predicts from RGB alone (SAN) is held to its own measured-pixel test)."""
    shape = frame.sparse.shape
    assert out.depth.shape == shape and out.depth.dtype == np.float32
    assert out.confidence.shape == shape and out.confidence.dtype == np.float32
    assert np.all((out.confidence >= 0) & (out.confidence <= 1))
    missing = np.isnan(out.depth)
    assert not out.confidence[missing].any()
    assert not np.isinf(out.depth).any() and (out.depth[~missing] > 0).all()
    hit = frame.sparse > 0
    estimated = np.isfinite(out.depth[hit])
    assert estimated.mean() >= 0.95
    if not near_lidar:
        return
    rel = np.abs(out.depth[hit][estimated] - frame.sparse[hit][estimated]) / frame.sparse[hit][
        estimated]
    assert np.median(rel) < 0.05


@pytest.fixture(scope="session")
def output_convention() -> Callable[[CompletionOutput, SampleFrame], None]:
    """:func:`assert_output_convention` for test modules (importlib mode: no cross imports)."""
    return assert_output_convention


@pytest.fixture(scope="session")
def on_sample() -> Callable[[DepthModel, SampleFrame], CompletionOutput]:
    """:func:`run_on_sample` for test modules."""
    return run_on_sample


def formula_weights(net: torch.nn.Module) -> None:
    """Every floating tensor of ``net``'s state from a formula (no random generator: a golden
    output must not depend on torch's RNG algorithms), BN statistics included."""
    with torch.no_grad():
        for i, (name, t) in enumerate(sorted(net.state_dict().items())):
            if not t.is_floating_point():
                continue
            wave = torch.sin(torch.arange(t.numel(), dtype=torch.float64) * 0.731 + i)
            wave = wave.view(t.shape)
            if name.endswith("running_var"):
                value = 1.0 + 0.5 * wave.abs()
            elif t.ndim == 4:
                value = wave / math.sqrt(t[0].numel())
            elif name.endswith("weight"):
                value = 1.0 + 0.1 * wave
            else:
                value = 0.1 * wave
            t.copy_(value)


def formula_inputs(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 3, H, W) normalised-looking image and (1, 1, H, W) ~15 % measured pixels at
    5..45 m, from formulas."""
    y, x = torch.meshgrid(torch.arange(height, dtype=torch.float32),
                          torch.arange(width, dtype=torch.float32), indexing="ij")
    rgb = torch.stack([torch.sin(0.3 * x + c) + torch.cos(0.2 * y - c) for c in (0, 1, 2)])
    measured = (torch.sin(1.7 * x + 2.3 * y) > 0.7).float()
    sparse = measured * (25.0 + 20.0 * torch.sin(0.05 * x + 0.11 * y))
    return rgb[None], sparse[None, None]


@pytest.fixture(scope="session")
def formulas() -> tuple[Callable[[torch.nn.Module], None],
                        Callable[[int, int], tuple[torch.Tensor, torch.Tensor]]]:
    """(:func:`formula_weights`, :func:`formula_inputs`) for test modules."""
    return formula_weights, formula_inputs


def crop_frame(frame: SampleFrame, height: int = 96, width: int = 200, x0: int = 500
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rgb, sparse and K of the bottom ``height`` rows of ``frame`` at columns x0.. (K moved)."""
    y0 = frame.rgb.shape[0] - height
    K = frame.K.copy()
    K[0, 2] -= x0
    K[1, 2] -= y0
    window = (slice(y0, y0 + height), slice(x0, x0 + width))
    return frame.rgb[window], frame.sparse[window], K


def refinement_losses(net: torch.nn.Module, frame: SampleFrame, steps: int, lr: float
                      ) -> list[float]:
    """AdamW losses of a refinement network (rgb, sparse, K, initial) on the bottom 64x160 of
    ``frame``: half the measured pixels in, the other half the target (masked L1 + L2); D0 =
    the classical model's depth on the given half."""
    from depth_completion_ros.engine.adapter import initial_depth
    from depth_completion_ros.models import get_model
    from depth_completion_ros.networks.losses import masked_l1_l2

    rgb_np, sparse_np, K = crop_frame(frame, 64, 160)
    keep = np.random.default_rng(0).random(sparse_np.shape) < 0.5
    given = torch.from_numpy(np.where(keep, sparse_np, 0).astype(np.float32))[None, None]
    target = torch.from_numpy(np.where(keep, 0, sparse_np).astype(np.float32))[None, None]
    start = initial_depth(get_model("classical"), rgb_np, given[0, 0].numpy(), K).depth
    rgb = torch.from_numpy(rgb_np).permute(2, 0, 1)[None].float() / 255.0
    net.train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimiser.zero_grad()
        out = net(rgb, given, torch.eye(3)[None], torch.from_numpy(start)[None, None])
        loss = masked_l1_l2(out[:, :1], target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def assert_refinement_at_full_size(name: str, config: dict, checkpoint: Path,
                                   frame: SampleFrame) -> None:
    """Refinement model ``name`` loads ``checkpoint`` strictly (every tensor as saved) and
    keeps the output convention on the full frame: NaN outside the 1216x352 crop, D0's stage
    timed."""
    from depth_completion_ros.models import get_model

    model = get_model(name, config, checkpoint=checkpoint, device="cpu")
    saved = torch.load(checkpoint, weights_only=True)["state_dict"]
    for key, value in model.engine.module.state_dict().items():
        assert torch.equal(value.cpu(), saved[key]), key
    out = model.predict(frame.rgb, frame.sparse, frame.K)
    assert np.isnan(out.depth[:, :13]).all()            # outside the 1216x352 crop
    assert_output_convention(out, frame)
    assert set(out.timings_ms) >= {"initial", "preprocess", "postprocess"}


@pytest.fixture(scope="session")
def refinement() -> SimpleNamespace:
    """:func:`crop_frame`, :func:`refinement_losses` and :func:`assert_refinement_at_full_size`
    for test modules (importlib mode)."""
    return SimpleNamespace(crop_frame=crop_frame, losses=refinement_losses,
                           at_full_size=assert_refinement_at_full_size)
