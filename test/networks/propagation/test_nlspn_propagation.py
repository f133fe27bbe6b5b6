"""NLSPN's propagation layer: normalisation bounds, convex steps, preserve_input, gradients, and
agreement with a slow per-pixel reference written from the paper and the authors' code."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depth_completion_ros.networks.propagation.deformable import (
    kernel_offsets,
    neighbour_positions,
    sampling_grid,
)
from depth_completion_ros.networks.propagation.nlspn import (
    NLSPNPropagation,
    affinity_weights,
    preserve,
    propagate_once,
)


def _random_layer(seed: int, *, kernel: int = 3, offset_scale: float = 1.0, **kwargs
                  ) -> NLSPNPropagation:
    """A layer whose offset / affinity convolution is random (it starts at zero)."""
    torch.manual_seed(seed)
    n = kernel * kernel - 1
    layer = NLSPNPropagation(n, kernel, **kwargs)
    with torch.no_grad():
        layer.conv_offset_aff.weight.normal_(0.0, offset_scale / math.sqrt(9 * n))
        layer.conv_offset_aff.bias.normal_(0.0, offset_scale)
    return layer


# --- normalisation ---------------------------------------------------------------------------

@pytest.mark.parametrize("scale, gamma", [(0.1, 4.0), (3.0, 4.0), (3.0, 0.5), (50.0, 0.01)])
def test_normalised_affinities_have_abs_sum_at_most_one(scale, gamma):
    torch.manual_seed(0)
    raw = scale * torch.randn(2, 8, 6, 7)
    conf = torch.rand(2, 8, 6, 7)
    weights, centre = affinity_weights(raw, torch.tensor([gamma]), conf)
    assert (weights.abs().sum(dim=1) <= 1.0 + 1e-6).all()
    torch.testing.assert_close(centre, 1.0 - weights.sum(dim=1, keepdim=True))


def test_small_affinities_are_not_rescaled():
    """Abs-Sum*: only sums above 1 are divided (γ large keeps Σ|a| < 1)."""
    raw, conf = torch.full((1, 8, 1, 1), 0.5), torch.full((1, 8, 1, 1), 0.5)
    weights, _ = affinity_weights(raw, torch.tensor([4.0]), conf)
    torch.testing.assert_close(weights, torch.tanh(raw) / 4.0 * 0.5)


# --- one step --------------------------------------------------------------------------------

def _plan(layer: NLSPNPropagation, guidance: torch.Tensor, confidence: torch.Tensor):
    with torch.no_grad():
        return layer.plan(guidance, confidence)


def test_a_step_keeps_a_constant_depth_where_all_neighbours_are_inside():
    """Centre weight 1 - Σ w_k: with all-equal input each step is an affine combination whose
    weights sum to 1, so the constant comes out (away from the zero padding)."""
    layer = _random_layer(1, offset_scale=0.3)
    height, width = 12, 14
    guidance = torch.randn(1, 8, height, width)
    plan = _plan(layer, guidance, torch.rand(1, 1, height, width))
    out = propagate_once(torch.full((1, 1, height, width), 7.5), *plan)
    with torch.no_grad():
        offsets = layer.conv_offset_aff(guidance)[:, :16]
    assert 0.1 < offsets.abs().max() < 2.0  # samples within 3 px of the pixel, not on it
    torch.testing.assert_close(out[..., 3:-3, 3:-3], torch.full_like(out[..., 3:-3, 3:-3], 7.5))
    assert not torch.allclose(out, torch.full_like(out, 7.5))  # the border sees the padding


def test_with_non_negative_affinities_a_step_is_a_convex_combination():
    torch.manual_seed(2)
    height, width = 9, 11
    depth = 5.0 + 10.0 * torch.rand(1, 1, height, width)
    raw = torch.rand(1, 8, height, width) * 4.0             # tanh >= 0: all w_k >= 0
    weights, centre = affinity_weights(raw, torch.tensor([1.0]), torch.rand(1, 8, height, width))
    assert (centre >= 0).all() and (weights >= 0).all()
    inside = torch.rand(1, 8, 2, height, width) * 0.8 - 0.4  # stays within the image interior
    grid = sampling_grid(neighbour_positions(inside, kernel_offsets(3)), height, width)
    out = propagate_once(depth, grid, weights, centre, torch.zeros(1))[..., 2:-2, 2:-2]
    assert out.min() >= depth.min() - 1e-5 and out.max() <= depth.max() + 1e-5


# --- preserve_input --------------------------------------------------------------------------

def test_preserve_replaces_exactly_the_measured_pixels():
    depth, sparse = torch.full((1, 1, 2, 3), 4.0), torch.tensor([[[[0, 2.5, 0], [9, 0, 0]]]])
    assert preserve(depth, sparse).tolist() == [[[[4.0, 2.5, 4.0], [9.0, 4.0, 4.0]]]]


def test_a_fresh_layer_is_the_identity_with_the_measurements_imposed():
    """Zero-initialised offsets / affinities: centre weight 1, so the output is the initial
    depth with the measured pixels replaced (exactly) when preserve_input is on."""
    torch.manual_seed(3)
    init = torch.rand(2, 1, 7, 9) * 10
    sparse = torch.where(torch.rand(2, 1, 7, 9) < 0.3, torch.rand(2, 1, 7, 9) * 50, 0.0)
    guidance, conf = torch.randn(2, 8, 7, 9), torch.rand(2, 1, 7, 9)
    with torch.no_grad():
        kept = NLSPNPropagation(8, prop_time=5, preserve_input=True)(init, guidance, conf, sparse)
        free = NLSPNPropagation(8, prop_time=5, preserve_input=False)(init, guidance, conf,
                                                                         sparse)
    measured = sparse > 0
    assert torch.equal(kept[measured], sparse[measured])
    assert torch.equal(kept[~measured], init[~measured]) and torch.equal(free, init)


@pytest.mark.parametrize("preserve_input", [True, False])
def test_with_preserve_input_the_initial_depth_at_measured_pixels_does_not_matter(
        preserve_input):
    layer = _random_layer(4, prop_time=4, preserve_input=preserve_input)
    torch.manual_seed(5)
    init = torch.rand(1, 1, 8, 10) * 10
    sparse = torch.where(torch.rand(1, 1, 8, 10) < 0.3, 20.0, 0.0)
    guidance, conf = torch.randn(1, 8, 8, 10), torch.rand(1, 1, 8, 10)
    other = torch.where(sparse > 0, -100.0, init)
    with torch.no_grad():
        same = torch.equal(layer(init, guidance, conf, sparse), layer(other, guidance, conf,
                                                                       sparse))
    assert same == preserve_input


# --- gradients -------------------------------------------------------------------------------

def test_gradcheck_of_one_propagation_step():
    torch.manual_seed(6)
    height, width = 4, 5
    depth = torch.rand(1, 1, height, width, dtype=torch.float64, requires_grad=True)
    offsets = 0.3 + 0.4 * torch.rand(1, 8, 2, height, width, dtype=torch.float64)  # no integers
    positions = neighbour_positions(offsets, kernel_offsets(3, dtype=torch.float64))
    grid = sampling_grid(positions, height, width).requires_grad_(True)
    weights = (0.1 * torch.randn(1, 8, height, width, dtype=torch.float64)).requires_grad_(True)
    centre = torch.rand(1, 1, height, width, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda d, g, w, c: propagate_once(d, g, w, c, bias), (depth, grid, weights, centre))


@pytest.mark.parametrize("scale", [0.2, 5.0])  # Σ|a| below and above 1
def test_gradcheck_of_the_affinity_normalisation(scale):
    torch.manual_seed(7)
    raw = (scale * torch.randn(1, 8, 2, 3, dtype=torch.float64)).requires_grad_(True)
    gamma = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    conf = torch.rand(1, 8, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(affinity_weights, (raw, gamma, conf))


# --- the authors' algorithm, one pixel and one neighbour at a time ---------------------------

def _dcn_bilinear(image: np.ndarray, y: float, x: float) -> float:
    """DCNv2's sampling: 0 beyond one pixel outside; each of the 4 corners 0 when outside."""
    height, width = image.shape
    if y <= -1 or x <= -1 or y >= height or x >= width:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    value = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < height and 0 <= xx < width:
                value += wy * wx * image[yy, xx]
    return value


def _reference(conv_out: np.ndarray, confidence: np.ndarray, init: np.ndarray,
               sparse: np.ndarray, *, gamma: float, kernel: int, steps: int, legacy: bool,
               preserve_input: bool) -> np.ndarray:
    """NLSPN for one image, (C, H, W) arrays, float64. Channel layout of conv_offset_aff's
    output: [0, 2N) offsets, neighbour n at (2n, 2n + 1) = (dy, dx); [2N, 3N) affinities.
    Neighbour n is window index n (n < N / 2) or n + 1 (the centre skipped), row-major."""
    n_nb, radius = kernel * kernel - 1, kernel // 2
    _, height, width = init.shape
    positions = np.zeros((height, width, n_nb, 2))
    weights = np.zeros((height, width, n_nb))
    centre = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            for n in range(n_nb):
                dy, dx = (v - radius for v in divmod(n if n < n_nb // 2 else n + 1, kernel))
                oy, ox = conv_out[2 * n, i, j], conv_out[2 * n + 1, i, j]
                c = _dcn_bilinear(confidence[0], i + dy + oy, j + dx + ox)
                weights[i, j, n] = math.tanh(conv_out[2 * n_nb + n, i, j]) / (gamma + 1e-8) * c
                extra = (dy, dx) if legacy else (0, 0)
                positions[i, j, n] = (i + dy + oy + extra[0], j + dx + ox + extra[1])
            total = max(np.abs(weights[i, j]).sum() + 1e-4, 1.0)
            weights[i, j] /= total
            centre[i, j] = 1.0 - weights[i, j].sum()
    depth = init[0].copy()
    for _ in range(steps):
        if preserve_input:
            depth = np.where(sparse[0] > 0, sparse[0], depth)
        new = centre * depth
        for i in range(height):
            for j in range(width):
                for n in range(n_nb):
                    new[i, j] += weights[i, j, n] * _dcn_bilinear(depth, *positions[i, j, n])
        depth = new
    return depth[None]


@pytest.mark.parametrize("legacy, preserve_input, kernel", [
    (True, True, 3), (False, True, 3), (True, False, 3), (False, True, 5)])
def test_grid_sample_propagation_equals_the_per_pixel_reference(legacy, preserve_input, kernel):
    steps = 3
    layer = _random_layer(8, kernel=kernel, offset_scale=1.5, prop_time=steps,
                          preserve_input=preserve_input, legacy_offsets=legacy)
    with torch.no_grad():
        layer.aff_scale_const.fill_(1.7)
    n = kernel * kernel - 1
    torch.manual_seed(9)
    batch, height, width = 2, 5, 7
    guidance = torch.randn(batch, n, height, width)
    confidence = torch.rand(batch, 1, height, width)
    init = 1.0 + 2.0 * torch.rand(batch, 1, height, width)
    sparse = torch.where(torch.rand(batch, 1, height, width) < 0.3,
                         1.0 + 2.0 * torch.rand(batch, 1, height, width), 0.0)
    with torch.no_grad():
        got = layer(init, guidance, confidence, sparse)
        conv_out = layer.conv_offset_aff(guidance).double().numpy()
    for b in range(batch):
        expected = _reference(conv_out[b], confidence[b].double().numpy(),
                              init[b].double().numpy(), sparse[b].double().numpy(), gamma=1.7,
                              kernel=kernel, steps=steps, legacy=legacy,
                              preserve_input=preserve_input)
        np.testing.assert_allclose(got[b].numpy(), expected, rtol=0, atol=1e-5)
    # the offsets reach outside this small image: the zero padding is exercised
    assert np.abs(conv_out[:, :2 * n]).max() > 2.0
