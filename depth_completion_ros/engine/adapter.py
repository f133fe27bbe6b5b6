"""TorchModelAdapter: an ``nn.Module`` plus its input config becomes a DepthModel.

The network contract: ``forward(rgb, sparse, K)`` with rgb (B, 3, h, w) normalised float, sparse
(B, 1, h, w) float (metres / ``depth_scale``, 0 = none; zeros in RGB-only mode) and K (B, 3, 3)
of the network input; it returns (B, 1, h, w) depth (in ``depth_scale`` units) or (B, 2, h, w)
depth and confidence in [0, 1]. The adapter crops (bottom-centre), normalises, pads to the stride
(zeros, right / bottom), runs through the :class:`InferenceEngine` and puts the result back at
full size: NaN depth and 0 confidence outside the crop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from depth_completion_ros.engine.inference import InferenceEngine
from depth_completion_ros.errors import ModelError
from depth_completion_ros.models.base import CompletionOutput, ModelCapabilities, check_inputs


@dataclass(frozen=True)
class TorchInputConfig:
    """How a network wants its input (pixels, metres).

    Attributes:
        crop_width: bottom-centre crop width, 0 = full width.
        crop_height: bottom-centre crop height, 0 = full height.
        stride: pad height and width up to a multiple of this.
        rgb_mean: per-channel mean subtracted from rgb / 255.
        rgb_std: per-channel std dividing it.
        depth_scale: metres per network depth unit.
        warmup: forward passes run once at the first frame size.
    """

    crop_width: int = 0
    crop_height: int = 0
    stride: int = 1
    rgb_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    rgb_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    depth_scale: float = 1.0
    warmup: int = 1


def crop_box(height: int, width: int, cfg: TorchInputConfig) -> tuple[int, int, int, int]:
    """(x0, y0, w, h) bottom-centre crop, clamped to the image."""
    w = min(cfg.crop_width or width, width)
    h = min(cfg.crop_height or height, height)
    return (width - w) // 2, height - h, w, h


class TorchModelAdapter:
    """A DepthModel around a network; the next wave's models plug in here."""

    def __init__(self, name: str, capabilities: ModelCapabilities, module: torch.nn.Module,
                 config: TorchInputConfig, *, device: str = "auto",
                 precision: str = "fp32") -> None:
        self.name, self.capabilities, self.config = name, capabilities, config
        self.engine = InferenceEngine(module, device=device, precision=precision)

    def preprocess(self, rgb: np.ndarray, sparse: np.ndarray | None, K: np.ndarray,
                   box: tuple[int, int, int, int]) -> dict[str, torch.Tensor]:
        """Crop, normalise and pad to the stride: the network's input tensors (CPU, float32)."""
        x0, y0, w, h = box
        cfg = self.config
        s = cfg.stride
        ph, pw = -(-h // s) * s, -(-w // s) * s
        rgb_t = torch.zeros(1, 3, ph, pw)
        img = torch.from_numpy(np.ascontiguousarray(rgb[y0:y0 + h, x0:x0 + w])).float() / 255.0
        rgb_t[0, :, :h, :w] = ((img - torch.tensor(cfg.rgb_mean)) / torch.tensor(cfg.rgb_std)
                               ).permute(2, 0, 1)
        depth_t = torch.zeros(1, 1, ph, pw)
        if sparse is not None:
            depth_t[0, 0, :h, :w] = torch.from_numpy(
                np.ascontiguousarray(sparse[y0:y0 + h, x0:x0 + w], np.float32)) / cfg.depth_scale
        K_crop = np.array(K, np.float64)
        K_crop[0, 2] -= x0
        K_crop[1, 2] -= y0
        return {"rgb": rgb_t, "sparse": depth_t, "K": torch.from_numpy(K_crop).float()[None]}

    def postprocess(self, out: torch.Tensor, shape: tuple[int, int],
                    box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Network output back to full-size depth (metres, NaN outside) and confidence."""
        if out.ndim != 4 or out.shape[1] not in (1, 2):
            raise ModelError(f"model {self.name!r}: network output must be (B, 1|2, h, w), "
                             f"got {tuple(out.shape)}")
        x0, y0, w, h = box
        out = out[0, :, :h, :w].float().cpu().numpy()
        depth = np.full(shape, np.nan, np.float32)
        conf = np.zeros(shape, np.float32)
        depth[y0:y0 + h, x0:x0 + w] = out[0] * self.config.depth_scale
        conf[y0:y0 + h, x0:x0 + w] = np.clip(out[1], 0, 1) if out.shape[0] == 2 else 1.0
        return depth, conf

    def predict(self, rgb: np.ndarray, sparse_depth: np.ndarray | None,
                K: np.ndarray) -> CompletionOutput:
        """Full-resolution depth and confidence; timings per stage in ``timings_ms``."""
        if sparse_depth is None and not self.capabilities.rgb_only:
            raise ModelError(f"model {self.name!r} needs a sparse depth (not RGB-only)")
        shape = check_inputs(rgb, sparse_depth, K, model=self.name)
        box = crop_box(*shape, self.config)
        with self.engine.timer.stage("preprocess"):
            inputs = self.preprocess(rgb, sparse_depth, K, box)
        if not self.engine.warmed_up:
            self.engine.warm_up(inputs, self.config.warmup)
        out = self.engine.run(inputs)
        with self.engine.timer.stage("postprocess"):
            depth, conf = self.postprocess(out, shape, box)
        return CompletionOutput(depth, conf, dict(self.engine.timer.last))
