"""SAN's sparse encoder as masked dense operations equals MinkowskiEngine's semantics, written
here independently as loops over a coordinate -> feature dictionary (the way a sparse tensor
holds its sites): stride-2 max pooling with quantised output coordinates, stride-1 convolution
over active neighbours with the kernel index ``col_offset * k + row_offset`` (the row offset
fastest), batch norm over active sites only."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_completion_ros.networks.san.sparse import (
    SparseBatchNorm,
    SparseBlock,
    SparseConv2d,
    SparseEncoder,
    sparse_max_pool,
)

Sites = dict[tuple[int, int], np.ndarray]


def to_sites(x: torch.Tensor, mask: torch.Tensor) -> Sites:
    """(1, C, H, W), (1, 1, H, W) -> {(row, col): (C,) features} of the active sites."""
    rows, cols = np.nonzero(mask[0, 0].numpy())
    return {(int(r), int(c)): x[0, :, r, c].double().numpy() for r, c in zip(rows, cols)}


def pool_ref(sites: Sites) -> Sites:
    """Output at (r // 2, c // 2) of every input site; max over active inputs of rows
    2i - 1 ... 2i + 1 and columns 2j - 1 ... 2j + 1."""
    out: Sites = {}
    for i, j in {(r // 2, c // 2) for r, c in sites}:
        window = [f for (r, c), f in sites.items()
                  if 2 * i - 1 <= r <= 2 * i + 1 and 2 * j - 1 <= c <= 2 * j + 1]
        out[(i, j)] = np.max(window, axis=0)
    return out


def conv_ref(sites: Sites, kernel: np.ndarray, k: int) -> Sites:
    """Output at every input site: sum over offsets of kernel[(dc + r) * k + (dr + r)] (in, out)
    applied to the active neighbour (row + dr, col + dc)."""
    half = k // 2
    out: Sites = {}
    for (row, col) in sites:
        acc = np.zeros(kernel.shape[2])
        for dr in range(-half, half + 1):
            for dc in range(-half, half + 1):
                nb = sites.get((row + dr, col + dc))
                if nb is not None:
                    acc += nb @ kernel[(dc + half) * k + (dr + half)]
        out[(row, col)] = acc
    return out


def bn_ref(sites: Sites, bn: torch.nn.BatchNorm1d) -> Sites:
    mean, var = bn.running_mean.double().numpy(), bn.running_var.double().numpy()
    w, b = bn.weight.detach().double().numpy(), bn.bias.detach().double().numpy()
    return {s: (f - mean) / np.sqrt(var + bn.eps) * w + b for s, f in sites.items()}


def relu_ref(sites: Sites) -> Sites:
    return {s: np.maximum(f, 0.0) for s, f in sites.items()}


def add(*maps: Sites) -> Sites:
    return {s: sum(m[s] for m in maps) for s in maps[0]}


def random_sparse(channels: int, height: int, width: int, fraction: float, seed: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(1, 1, height, width, generator=gen) < fraction
    x = torch.randn(1, channels, height, width, generator=gen) * mask
    return x, mask


def randomise_bn(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.2)


def assert_sites_equal(x: torch.Tensor, mask: torch.Tensor, ref: Sites, atol: float) -> None:
    assert to_sites(x, mask).keys() == ref.keys()
    got = to_sites(x, mask)
    for s, f in ref.items():
        np.testing.assert_allclose(got[s], f, atol=atol, err_msg=str(s))
    # empty sites stay empty
    empty = x[~mask.expand_as(x)]
    assert empty.numel() == 0 or float(empty.abs().max()) == 0.0


@pytest.mark.parametrize(("height", "width"), [(12, 16), (11, 13)])
def test_pooling_quantises_coordinates_and_takes_the_max_over_active_sites(height, width):
    x, mask = random_sparse(3, height, width, 0.2, seed=height)
    x = x - 5.0 * mask  # all features negative: empty sites (0) must never win the max
    pooled, out_mask = sparse_max_pool(x, mask)
    assert out_mask.shape[2:] == ((height + 1) // 2, (width + 1) // 2)
    assert_sites_equal(pooled, out_mask, pool_ref(to_sites(x, mask)), atol=1e-6)


@pytest.mark.parametrize("k", [3, 5])
def test_convolution_uses_the_row_fastest_kernel_index(k):
    x, mask = random_sparse(2, 10, 12, 0.3, seed=k)
    conv = SparseConv2d(2, 3, k)
    with torch.no_grad():
        conv.kernel.copy_(torch.randn_like(conv.kernel))
        out = conv(x, mask)
    ref = conv_ref(to_sites(x, mask), conv.kernel.detach().double().numpy(), k)
    assert_sites_equal(out, mask, ref, atol=1e-5)


def test_the_kernel_order_is_not_symmetric_so_the_test_above_can_fail():
    x, mask = random_sparse(2, 10, 12, 0.3, seed=3)
    conv = SparseConv2d(2, 3, 3)
    with torch.no_grad():
        conv.kernel.copy_(torch.randn_like(conv.kernel))
        out = conv(x, mask)
    kernel = conv.kernel.detach().double().numpy().reshape(3, 3, 2, 3).transpose(1, 0, 2, 3) \
        .reshape(9, 2, 3)  # column offset fastest instead
    wrong = conv_ref(to_sites(x, mask), kernel, 3)
    got = to_sites(out, mask)
    assert max(np.abs(got[s] - wrong[s]).max() for s in wrong) > 1e-2


def test_batch_norm_trains_on_active_sites_only_and_keeps_empty_sites_empty():
    x, mask = random_sparse(4, 16, 16, 0.25, seed=7)
    bn = SparseBatchNorm(4).train()
    with torch.no_grad():
        out = bn(x, mask)
    feats = x.permute(0, 2, 3, 1)[mask[:, 0]]
    reference = torch.nn.BatchNorm1d(4).train()
    with torch.no_grad():
        expected = reference(feats)
    torch.testing.assert_close(out.permute(0, 2, 3, 1)[mask[:, 0]], expected)
    torch.testing.assert_close(bn.bn.running_mean, reference.running_mean)
    torch.testing.assert_close(bn.bn.running_var, reference.running_var)
    assert float(out[~mask.expand_as(out)].abs().max()) == 0.0


def test_a_block_in_eval_mode_equals_the_sparse_reference():
    x, mask = random_sparse(2, 14, 18, 0.25, seed=11)
    block = SparseBlock(2, 3, 3).eval()
    randomise_bn(block, 5)
    with torch.no_grad():
        for p in block.parameters():
            if p.dim() == 3:
                p.copy_(torch.randn_like(p) * 0.3)
        out, out_mask = block(x, mask)

    def seq_ref(sites: Sites, layers: torch.nn.ModuleList) -> Sites:
        for layer in layers:
            if isinstance(layer, SparseConv2d):
                sites = conv_ref(sites, layer.kernel.detach().double().numpy(), 3)
            elif isinstance(layer, SparseBatchNorm):
                sites = bn_ref(sites, layer.bn)
            else:
                sites = relu_ref(sites)
        return sites

    pooled = pool_ref(to_sites(x, mask))
    summed = add(seq_ref(pooled, block.layer1), seq_ref(pooled, block.layer2),
                 seq_ref(pooled, block.layer3))
    assert_sites_equal(out, out_mask, seq_ref(summed, block.layer_final), atol=1e-4)


def test_encoder_keys_are_the_authors():
    encoder = SparseEncoder([32, 64, 128, 256, 512])
    keys = encoder.state_dict()
    assert len(keys) == 5 * 26
    assert tuple(keys["mconvs.0.layer3.0.kernel"].shape) == (25, 1, 64)
    assert tuple(keys["mconvs.1.layer1.0.kernel"].shape) == (25, 32, 64)
    assert tuple(keys["mconvs.4.layer3.6.kernel"].shape) == (9, 1024, 512)
    assert "mconvs.2.layer_final.0.bn.running_var" in keys
    assert "mconvs.3.layer2.1.bn.num_batches_tracked" in keys


def test_an_empty_input_gives_zero_features():
    outs = SparseEncoder([4, 4, 4, 4, 4]).eval()(torch.zeros(2, 1, 64, 64))
    assert all(float(o.abs().max()) == 0.0 for o in outs)
