"""Preprocessor: crop, normalise, pad to stride, K, and the inverse, batched."""
from __future__ import annotations

import pytest
import torch

from depth_completion_ros.engine.preprocess import (
    Preprocessor,
    crop_intrinsics,
    normalize_rgb,
    pad_to_stride,
    padded_size,
    uncrop,
)
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.crop import KITTI_CROP, Crop
from depth_completion_ros.models.weights import InputSpec

KITTI_K = torch.tensor([[721.5377, 0.0, 609.5593], [0.0, 721.5377, 172.854], [0.0, 0.0, 1.0]],
                       dtype=torch.float64)


def _batch(seed: int, batch: int = 1, height: int = 9, width: int = 14):
    g = torch.Generator().manual_seed(seed)
    rgb = torch.randint(0, 256, (batch, 3, height, width), generator=g, dtype=torch.uint8)
    sparse = torch.rand(batch, 1, height, width, generator=g) * 80
    sparse[torch.rand(batch, 1, height, width, generator=g) < 0.8] = 0.0
    return rgb, sparse, KITTI_K.expand(batch, 3, 3).clone()


@pytest.mark.parametrize("size, stride, padded", [
    ((6, 10), 1, (6, 10)), ((6, 10), 4, (8, 12)), ((8, 12), 4, (8, 12)), ((352, 1216), 16,
                                                                          (352, 1216)),
    ((375, 1242), 32, (384, 1248)),
])
def test_padded_size(size, stride, padded):
    assert padded_size(*size, stride) == padded


def test_padding_to_stride_adds_zeros_right_and_bottom_only():
    x = torch.arange(2 * 1 * 6 * 10, dtype=torch.float32).reshape(2, 1, 6, 10) + 1
    out = pad_to_stride(x, 4)
    assert out.shape == (2, 1, 8, 12)
    assert torch.equal(out[..., :6, :10], x)
    assert not out[..., 6:, :].any() and not out[..., :, 10:].any()
    assert pad_to_stride(x, 2) is x  # already a multiple: no copy


def test_intrinsics_follow_the_crop():
    box = KITTI_CROP.box(375, 1242)
    K = crop_intrinsics(KITTI_K.expand(2, 3, 3), box)
    assert box == (13, 23, 1216, 352)
    assert K[:, 0, 2].tolist() == [609.5593 - 13] * 2 and K[:, 1, 2].tolist() == [172.854 - 23] * 2
    assert torch.equal(K[:, :2, :2], KITTI_K[:2, :2].expand(2, 2, 2))
    assert KITTI_K[0, 2] == 609.5593  # input untouched


def test_normalisation_hand_computed():
    rgb = torch.tensor([0, 255, 51], dtype=torch.uint8).view(1, 3, 1, 1)
    half = torch.full((1, 3, 1, 1), 0.5)
    out = normalize_rgb(rgb, half, half)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.flatten(), torch.tensor([-1.0, 1.0, -0.6]))


def test_forward_crops_normalises_pads_and_moves_k():
    spec = InputSpec(crop=Crop(10, 6), stride=4, depth_scale=2.0, rgb_mean=(0.5, 0.5, 0.5),
                     rgb_std=(0.5, 0.5, 0.5))
    rgb, sparse, K = _batch(0, height=9, width=14)
    net = Preprocessor(spec)(rgb, sparse, K)
    assert {k: tuple(v.shape) for k, v in net.items()} == {
        "rgb": (1, 3, 8, 12), "sparse": (1, 1, 8, 12), "K": (1, 3, 3)}
    assert all(v.dtype == torch.float32 for v in net.values())
    torch.testing.assert_close(net["sparse"][..., :6, :10], sparse[..., 3:, 2:12] / 2.0)
    torch.testing.assert_close(net["rgb"][..., :6, :10], rgb[..., 3:, 2:12] / 127.5 - 1.0)
    assert not net["rgb"][..., 6:, :].any() and not net["sparse"][..., :, 10:].any()
    assert net["K"][0, 0, 2].item() == pytest.approx(609.5593 - 2)
    assert net["K"][0, 1, 2].item() == pytest.approx(172.854 - 3)


def test_a_batch_of_two_equals_two_single_calls():
    pre = Preprocessor(InputSpec(crop=Crop(10, 6), stride=4, depth_scale=2.0))
    (rgb_a, sparse_a, K_a), (rgb_b, sparse_b, K_b) = _batch(1), _batch(2)
    K_b[0, 0, 2] += 5.0
    assert not torch.equal(sparse_a, sparse_b)
    both = pre(torch.cat([rgb_a, rgb_b]), torch.cat([sparse_a, sparse_b]), torch.cat([K_a, K_b]))
    for i, single in enumerate((pre(rgb_a, sparse_a, K_a), pre(rgb_b, sparse_b, K_b))):
        for key in ("rgb", "sparse", "K"):
            assert torch.equal(both[key][i:i + 1], single[key]), key
    out = torch.cat([both["sparse"], torch.full_like(both["sparse"], 0.25)], dim=1)
    depth, conf = pre.restore(out, 9, 14)
    for i in range(2):
        one_depth, one_conf = pre.restore(out[i:i + 1], 9, 14)
        assert torch.equal(depth[i:i + 1].nan_to_num(-1), one_depth.nan_to_num(-1))
        assert torch.equal(conf[i:i + 1], one_conf)


def test_restore_is_the_inverse_inside_the_crop_and_nan_outside():
    spec = InputSpec(crop=Crop(10, 6), stride=4, depth_scale=2.0)
    pre = Preprocessor(spec)
    _, sparse, K = _batch(3)
    net = pre(None, sparse, K)
    depth, conf = pre.restore(net["sparse"], 9, 14)  # one channel: confidence 1 in the crop
    assert depth.shape == conf.shape == (1, 9, 14)
    torch.testing.assert_close(depth[:, 3:, 2:12], sparse[:, 0, 3:, 2:12])
    outside = torch.ones(1, 9, 14, dtype=torch.bool)
    outside[:, 3:, 2:12] = False
    assert depth[outside].isnan().all() and not conf[outside].any()
    assert (conf[~outside] == 1).all()
    clipped = torch.cat([net["sparse"], torch.full_like(net["sparse"], 3.0)], dim=1)
    assert pre.restore(clipped, 9, 14)[1].max() == 1.0


def test_missing_inputs_become_zeros_and_the_crop_clamps_to_small_images():
    pre = Preprocessor(InputSpec(crop=KITTI_CROP, stride=16))
    rgb, _, K = _batch(4, height=100, width=200)
    net = pre(rgb, None, K)
    assert net["sparse"].shape == (1, 1, 112, 208) and not net["sparse"].any()
    assert pre.box(100, 200) == (0, 0, 200, 100)


@pytest.mark.parametrize("rgb_shape, sparse_shape, k_shape, match", [
    ((1, 4, 9, 14), None, (1, 3, 3), r"rgb must be \(B, 3, H, W\), got \(1, 4, 9, 14\)"),
    (None, (1, 9, 14), (1, 3, 3), r"sparse must be \(B, 1, H, W\), got \(1, 9, 14\)"),
    ((1, 3, 9, 14), (1, 1, 9, 13), (1, 3, 3), r"sparse \(1, 1, 9, 13\) does not match"),
    ((2, 3, 9, 14), None, (1, 3, 3), r"K must be \(2, 3, 3\), got \(1, 3, 3\)"),
    (None, None, (1, 3, 3), "got neither"),
])
def test_bad_shapes_raise_input_error(rgb_shape, sparse_shape, k_shape, match):
    rgb = None if rgb_shape is None else torch.zeros(rgb_shape, dtype=torch.uint8)
    sparse = None if sparse_shape is None else torch.zeros(sparse_shape)
    with pytest.raises(InputError, match=match):
        Preprocessor(InputSpec())(rgb, sparse, torch.zeros(k_shape))


def test_statistics_are_buffers_outside_the_state_dict():
    pre = Preprocessor(InputSpec())
    assert dict(pre.state_dict()) == {}
    assert {name for name, _ in pre.named_buffers()} == {"mean", "std"}


def test_uncrop_places_the_block():
    x = torch.ones(1, 1, 2, 3)
    full = uncrop(x, (1, 2, 3, 2), 4, 5, fill=0.0)
    assert full.shape == (1, 1, 4, 5) and full.sum() == 6 and full[0, 0, 2:, 1:4].all()
