"""MSPN's masked propagation against a per-pixel reference written from NATTEN's window rules and
the authors' KITTI layer (direct q · k over L channels, keys times the mask), and its invariants."""
from __future__ import annotations

import math

import pytest
import torch

from depth_completion_ros.networks.propagation import mspn
from depth_completion_ros.networks.propagation.mspn import (
    MaskedPropagation,
    MSPNLayer,
    first_iterations,
    gather_windows,
    neighbour_indices,
    relative_bias,
)


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad():
        yield


def natten_start(i: int, length: int, window: int) -> int:
    """NATTEN's window start (dilation 1), written from its rule, independently of
    ``window_starts``."""
    r = window // 2
    if i < r:
        return 0
    if i + r >= length:
        return length - window
    return i - r


def reference_step(layer: MSPNLayer, g, cd, sd, mask, paper_blend=False):
    """One step of the authors' layer, pixel by pixel (B = 1)."""
    w = layer.window
    gn = layer.norm1(g)
    qk = layer.conv(torch.cat((gn, cd), 1))
    L = g.shape[1]
    q, k = qk[:, :L], qk[:, L:] * mask
    _, _, H, W = cd.shape
    out_d = torch.zeros_like(cd)
    out_m = torch.zeros_like(mask)
    for y in range(H):
        sy = natten_start(y, H, w)
        for x in range(W):
            sx = natten_start(x, W, w)
            logits, ds, ms = [], [], []
            for ki in range(w):
                for kj in range(w):
                    ny, nx = sy + ki, sx + kj
                    bias = layer.rpb[0, ny - y + w - 1, nx - x + w - 1]
                    logits.append((q[0, :, y, x] * k[0, :, ny, nx]).sum() + bias)
                    ds.append(cd[0, 0, ny, nx])
                    ms.append(mask[0, 0, ny, nx])
            a = torch.softmax(torch.stack(logits).double(), 0)
            out_d[0, 0, y, x] = (a * torch.stack(ds).double()).sum()
            out_m[0, 0, y, x] = (a * torch.stack(ms).double()).sum()
    if paper_blend:
        out_d = out_d * mask + cd * (1 - mask)
        out_d[sd > 0] = sd[sd > 0]
    out_m[sd > 0] = mask[sd > 0]
    return out_d, out_m


def scene(height=15, width=17, channels=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(1, channels, height, width, generator=gen)
    d0 = 5 + 20 * torch.rand(1, 1, height, width, generator=gen)
    sd = torch.where(torch.rand(1, 1, height, width, generator=gen) < 0.15,
                     5 + 20 * torch.rand(1, 1, height, width, generator=gen), torch.zeros(()))
    return g, d0, sd


def random_layer(channels, seed):
    torch.manual_seed(seed)
    layer = MSPNLayer(channels)
    with torch.no_grad():
        layer.rpb.normal_(0, 0.5)
        layer.norm1.weight.normal_(1, 0.2)
        layer.norm1.bias.normal_(0, 0.2)
        layer.conv.weight.mul_(0.5)
    return layer


@pytest.mark.parametrize("paper_blend", [False, True])
@pytest.mark.parametrize("strip_elements", [1 << 22, 169 * 17 * 2])
def test_step_equals_per_pixel_reference(paper_blend, strip_elements, monkeypatch):
    monkeypatch.setattr(mspn, "STRIP_ELEMENTS", strip_elements)   # one strip, or 2 rows each
    g, d0, sd = scene()
    layer = random_layer(4, 1)
    cd = torch.where(sd > 0, sd, d0)
    # a mask with fractional values, as after a few steps
    mask = torch.where(sd > 0, torch.ones(()), torch.rand_like(d0) * 0.5)
    got_d, got_m = layer.step(layer.terms(g), cd, mask, sd, paper_blend)
    ref_d, ref_m = reference_step(layer, g, cd, sd, mask, paper_blend)
    assert torch.allclose(got_d, ref_d.float(), atol=1e-4)
    assert torch.allclose(got_m, ref_m.float(), atol=1e-5)


def uniform_layer():
    layer = MSPNLayer(2)
    with torch.no_grad():
        layer.rpb.zero_()
        layer.conv.weight.zero_()
        layer.conv.bias.zero_()
    return layer


def test_windows_are_shifted_at_the_border_not_padded():
    # uniform attention (no bias, q . k = 0): a one-hot depth at (12, 12) reaches a pixel iff
    # its window holds (12, 12). Shifted windows: rows / cols 0 .. 18 (the corner pixel's window
    # is rows 0 .. 12); zero-padded centred windows would stop at 6 .. 18.
    layer = uniform_layer()
    depth = torch.zeros(1, 1, 30, 33)
    depth[0, 0, 12, 12] = 1.0
    mask = torch.ones_like(depth)
    terms = layer.terms(torch.zeros(1, 2, 30, 33))
    none = torch.zeros_like(depth)
    out, _ = layer.step(terms, depth, mask, none, False)
    expected = torch.zeros_like(depth)
    expected[0, 0, :19, :19] = 1 / 169
    assert torch.allclose(out, expected, atol=1e-7)
    assert out[0, 0, 0, 0] > 0                        # a padded window would not see it
    # every window holds 169 real pixels: ones stay ones everywhere, corners included
    ones, _ = layer.step(terms, mask, mask, none, False)
    assert torch.allclose(ones, mask, atol=1e-6)


def test_neighbours_follow_natten():
    for length in (13, 14, 40):
        rows = neighbour_indices(length, 13)
        x = torch.arange(float(length)).view(1, 1, length, 1)
        for i in range(length):
            start = natten_start(i, length, 13)
            assert [int(r[i]) for r in rows] == list(range(start, start + 13))
    # the unfold gather picks exactly those, in strips or whole
    x = torch.arange(30.0 * 33).view(1, 1, 30, 33)
    windows = gather_windows(x)
    parts = [gather_windows(x, 13, (y0, min(30, y0 + 4))) for y0 in range(0, 30, 4)]
    assert torch.equal(torch.cat(parts, 3), windows)
    rows, cols = neighbour_indices(30, 13), neighbour_indices(33, 13)
    for y, xx in [(0, 0), (5, 32), (15, 16), (29, 7)]:
        expected = [float(x[0, 0, rows[n // 13][y], cols[n % 13][xx]]) for n in range(169)]
        assert windows[0, 0, :, y, xx].tolist() == expected


def test_relative_bias_index_is_neighbour_minus_pixel():
    rpb = torch.arange(25 * 25, dtype=torch.float32).view(1, 25, 25)
    bias = relative_bias(rpb, 16, 18, 13)
    for (y, x) in [(0, 0), (3, 17), (8, 9), (15, 5)]:
        sy, sx = natten_start(y, 16, 13), natten_start(x, 18, 13)
        for n in (0, 84, 168):
            ny, nx = sy + n // 13, sx + n % 13
            assert bias[n, y, x] == rpb[0, ny - y + 12, nx - x + 12]


def test_attention_rows_sum_to_one():
    g, d0, sd = scene()
    layer = random_layer(4, 2)
    attn = layer.attention(layer.terms(g), torch.where(sd > 0, sd, d0), (sd > 0).float())
    assert attn.shape == (1, 169, 15, 17)
    assert torch.allclose(attn.sum(1), torch.ones(1, 15, 17), atol=1e-6)


@pytest.mark.parametrize("lines,expected", [(64, 6), (32, 6), (16, 6), (8, 6), (4, 8)])
def test_iteration_count_follows_the_code(lines, expected):
    # a KITTI frame of the shared seq16 drive: 16035 valid pixels with 64 lines in its
    # 352x1216 crop; s = that count scaled by lines / 64 (the authors' num_sample), and for 4
    # lines the actual 4-line count 847 of the same frame
    s = 847 if lines == 4 else int(16035 * lines / 64)
    assert first_iterations(352, 1216, s) == expected
    # the same by hand, in float64 (no count sits near an integer boundary)
    n1 = math.floor(2 * (math.sqrt(352 * 1216 / s) - 1) / 6) + 1
    assert max(6, n1) == expected


def test_iteration_count_authors_crop_and_batch_maximum():
    # their test crop 252x1216: 64 lines 6, and the batch maximum is taken
    assert first_iterations(252, 1216, torch.tensor([16035])) == 6
    assert first_iterations(252, 1216, torch.tensor([16035, 300])) == 11
    assert first_iterations(252, 1216, 300, maximum=9) == 9


def test_refinement_invariants():
    g, d0, sd = scene(seed=3)
    torch.manual_seed(4)
    prop = MaskedPropagation(4, min_iterations=2, second_iterations=2)
    with torch.no_grad():
        prop.mspn.rpb.normal_(0, 0.5)
        prop.mspn_2nd.rpb.normal_(0, 0.5)
    out = prop(g, d0, sd, int((sd > 0).sum()))
    measured = sd > 0
    for m in (out.mask1, out.mask2):
        assert m.min() >= 0 and m.max() <= 1 + 1e-6
        assert torch.equal(m[measured], torch.ones(int(measured.sum())))
    assert out.iterations == (2, 2)
    assert (out.depth >= 0).all()
    # KITTI path: measured pixels are not kept exactly (no reset inside a layer)
    assert not torch.allclose(out.depth[measured], sd[measured])
    blend = MaskedPropagation(4, min_iterations=2, second_iterations=2, paper_blend=True)
    blend.load_state_dict(prop.state_dict())
    out_b = blend(g, d0, sd, int(measured.sum()))
    assert torch.equal(out_b.depth[measured], sd[measured])


def test_too_small_image_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 13x13"):
        MSPNLayer(2).terms(torch.zeros(1, 2, 12, 40))


@pytest.mark.parametrize("scale", [0.01, 1.0])
def test_near_identity_init_scales_guidance_and_depth_weights_apart(scale):
    torch.manual_seed(7)
    plain = MSPNLayer(8)
    torch.manual_seed(7)
    layer = MSPNLayer(8, rpb_sigma=0.5, guidance_init_scale=scale)
    w, w0 = layer.conv.weight[:, :, 0, 0], plain.conv.weight[:, :, 0, 0]
    assert torch.allclose(w[:, :8], scale * w0[:, :8])       # guidance inputs
    assert torch.allclose(w[:, 8], 0.01 * w0[:, 8])           # the depth input
    assert torch.equal(layer.conv.bias, torch.zeros(16))
    assert layer.rpb[0, 12, 12] == 0 and layer.rpb[0, 12, 13] == pytest.approx(-2.0)
