"""TorchModelAdapter and InferenceEngine on CPU with a tiny module."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from depth_completion_ros.engine import TorchModelAdapter
from depth_completion_ros.engine.device import select_device, select_dtype
from depth_completion_ros.errors import ModelError
from depth_completion_ros.geometry.crop import Crop
from depth_completion_ros.models.base import ModelInput, ModelSpec
from depth_completion_ros.models.weights import InputSpec

COMPLETION = ModelSpec("tiny", required=(ModelInput.RGB, ModelInput.SPARSE_DEPTH))
LIDAR_ONLY = ModelSpec("tiny_depth", required=(ModelInput.SPARSE_DEPTH,))


class PassThrough(nn.Module):
    """Returns the sparse input as depth and 0.5 confidence; records the input shape."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.seen: tuple[int, ...] = ()
        self.rgb_seen = torch.empty(0)

    def forward(self, rgb: torch.Tensor, sparse: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        self.seen, self.rgb_seen = tuple(rgb.shape), rgb.clone()
        return torch.cat([sparse * self.scale, torch.full_like(sparse, 0.5)], dim=1)


def test_crop_pad_round_trip_puts_output_back_at_full_size():
    module = PassThrough()
    spec = InputSpec(crop=Crop(10, 6), stride=4, depth_scale=2.0)
    model = TorchModelAdapter(COMPLETION, module, spec, device="cpu")
    sparse = np.arange(8 * 14, dtype=np.float32).reshape(8, 14)
    out = model.predict(np.zeros((8, 14, 3), np.uint8), sparse, np.eye(3))
    assert module.seen == (1, 3, 8, 12)  # 6x10 crop padded to multiples of 4
    assert out.depth.shape == (8, 14)
    np.testing.assert_allclose(out.depth[2:, 2:12], sparse[2:, 2:12])  # bottom-centre crop
    assert np.isnan(out.depth[:2]).all() and np.isnan(out.depth[:, :2]).all()
    assert np.isnan(out.depth[:, 12:]).all()
    assert (out.confidence[2:, 2:12] == 0.5).all() and out.confidence[:2].max() == 0.0
    assert set(out.timings_ms) == {"preprocess", "forward", "postprocess"}


def test_lidar_only_model_runs_without_an_image_and_refuses_no_lidar():
    module = PassThrough()
    model = TorchModelAdapter(LIDAR_ONLY, module, InputSpec(), device="cpu")
    out = model.predict(None, np.full((4, 6), 3.0, np.float32), np.eye(3))
    np.testing.assert_allclose(out.depth, 3.0)
    assert module.rgb_seen.shape == (1, 3, 4, 6) and not module.rgb_seen.any()  # zeros
    with pytest.raises(ModelError, match=r"model 'tiny_depth' needs a sparse depth"):
        model.predict(np.zeros((4, 6, 3), np.uint8), None, np.eye(3))
    with pytest.raises(ModelError, match=r"model 'tiny' needs an RGB image"):
        TorchModelAdapter(COMPLETION, PassThrough(), InputSpec(), device="cpu").predict(
            None, np.ones((4, 6), np.float32), np.eye(3))


def test_network_output_of_wrong_size_is_a_model_error():
    class Shrink(PassThrough):
        def forward(self, rgb, sparse, K):
            return super().forward(rgb, sparse, K)[..., :-1, :]
    model = TorchModelAdapter(COMPLETION, Shrink(), InputSpec(stride=4), device="cpu")
    with pytest.raises(ModelError, match=r"expected \(B, 1\|2, 8, 8\), got \(1, 2, 7, 8\)"):
        model.predict(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), np.float32), np.eye(3))


def test_cuda_and_half_fall_back_to_cpu_with_notes():
    notes: list[str] = []
    device = select_device("cuda", notes)
    if torch.cuda.is_available():
        pytest.skip("CUDA present: no fallback to check")
    assert device.type == "cpu" and "not available" in notes[0]
    assert select_dtype("fp16", device, notes) is torch.float32 and "fp32" in notes[1]


def test_unknown_device_or_precision_names_the_choices():
    with pytest.raises(ModelError, match=r"expected one of \['auto', 'cpu', 'cuda'\]"):
        select_device("gpu", [])
    with pytest.raises(ModelError, match=r"expected one of \['fp32', 'fp16', 'bf16'\]"):
        select_dtype("half", torch.device("cpu"), [])


def test_buffers_are_reused_for_same_shape():
    model = TorchModelAdapter(COMPLETION, PassThrough(), InputSpec(), device="cpu")
    rgb, sparse = np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), np.float32)
    model.predict(rgb, sparse, np.eye(3))
    first = model.engine._buffers["sparse"].data_ptr()
    out = model.predict(rgb, 2 * sparse, np.eye(3))
    assert model.engine._buffers["sparse"].data_ptr() == first
    np.testing.assert_allclose(out.depth, 2.0)
