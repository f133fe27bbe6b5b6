"""NLSPN's non-local spatial propagation (Park et al., ECCV 2020), plain PyTorch.

From a guidance map, one 3x3 convolution (``conv_offset_aff``, zero-initialised: the layer
starts as the identity) predicts for every pixel p and each of the N = k² - 1 neighbours of a
k x k window an offset ``o_k(p)`` (dy, dx) and a raw affinity ``a_k(p)``. With ``d_k`` the
neighbour's place in the window (:func:`~.deformable.kernel_offsets`):

1. affinity: ``a_k = tanh(a_k) / (γ + 1e-8)``, γ learnable (``aff_scale_const``, initially
   ``affinity_gamma * N``);
2. times the confidence of the initial depth bilinearly sampled at the neighbour,
   ``c(p + d_k + o_k)`` (offsets detached: no gradient reaches them through this sampling);
3. normalisation ("Abs-Sum*"): ``a_k / max(Σ_k |a_k| + 1e-4, 1)``, so ``Σ_k |a_k| <= 1``;
   the centre weight is ``1 - Σ_k a_k``;
4. ``prop_time`` steps, each (``preserve_input``: measured pixels first reset to the
   measurement) ``x'(p) = w_c x(p) + Σ_k w_k x(p + d_k + o_k) + b``, bilinear, zeros outside
   the image; the output of the last step is not reset.

The kernel weights ``w`` (k x k ones), bias ``b`` (0) and confidence weight ``w_conf`` (1) are
the constant weights of the authors' deformable convolutions; they are buffers here, kept under
the authors' names so their checkpoint loads as it is, and applied as the authors' layer applies
them.

Legacy offsets (``legacy_offsets=True``): the authors' released weights were trained with code
that added the window grid to the offsets in place while sampling the confidence, so the
propagation sampled at ``p + 2 d_k + o_k`` while the confidence was read at ``p + d_k + o_k``.
Those weights need it (their README's ``--legacy``). Without it both are read at
``p + d_k + o_k``; the authors' non-legacy code reads the confidence at ``p + o_k`` instead
(without the grid), which their issue #46 reports as inconsistent, so that variant is not kept.

Everything after ``conv_offset_aff`` runs in float32 whatever the network's precision: in half
precision the normalised sampling positions of a 1216-pixel-wide image would be off by up to
0.3 px (fp16) or 2.4 px (bf16).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from depth_completion_ros.networks.propagation.deformable import (
    kernel_offsets,
    neighbour_positions,
    sample_neighbours,
    sampling_grid,
)

#: added to γ before dividing (the authors' value)
GAMMA_EPS = 1e-8
#: added to Σ|a_k| before the normalisation (the authors' value)
ABS_SUM_EPS = 1e-4


class PropagationPlan(NamedTuple):
    """What every propagation step of one forward pass reuses (float32).

    Attributes:
        grid: (B, N * H, W, 2) ``grid_sample`` grid of the neighbours' positions.
        neighbour_weights: (B, N, H, W) ``w_k``.
        centre_weight: (B, 1, H, W) ``w_c``.
        bias: (1,) added after the weighted sum.
    """

    grid: Tensor
    neighbour_weights: Tensor
    centre_weight: Tensor
    bias: Tensor


def affinity_weights(raw: Tensor, gamma: Tensor, neighbour_confidence: Tensor
                     ) -> tuple[Tensor, Tensor]:
    """Tanh-γ-Abs-Sum* normalised affinities.

    Args:
        raw: (B, N, H, W) raw affinities.
        gamma: (1,) γ.
        neighbour_confidence: (B, N, H, W) confidence sampled at each neighbour.

    Returns:
        neighbours (B, N, H, W) with ``Σ_k |w_k| <= 1``, centre (B, 1, H, W) ``1 - Σ_k w_k``.

    Example:
        >>> w, c = affinity_weights(torch.full((1, 8, 1, 1), 9.0), torch.tensor([1.0]),
        ...                         torch.ones(1, 8, 1, 1))
        >>> round(float(w.abs().sum()), 4), round(float(c), 4)
        (1.0, 0.0)
    """
    aff = torch.tanh(raw) / (gamma + GAMMA_EPS) * neighbour_confidence
    total = (aff.abs().sum(dim=1, keepdim=True) + ABS_SUM_EPS).clamp(min=1.0)
    aff = aff / total
    return aff, 1.0 - aff.sum(dim=1, keepdim=True)


def preserve(depth: Tensor, sparse: Tensor, measured: Tensor | None = None) -> Tensor:
    """``depth`` with the measured pixels (``sparse > 0``) replaced by the measurement.

    Shapes: (B, 1, H, W) all; ``measured``: ``sparse > 0`` when already computed.
    """
    return torch.where(sparse > 0 if measured is None else measured, sparse, depth)


def propagate_once(depth: Tensor, grid: Tensor, neighbour_weights: Tensor,
                   centre_weight: Tensor, bias: Tensor) -> Tensor:
    """One step ``x'(p) = w_c(p) x(p) + Σ_k w_k(p) x(q_k(p)) + b``, bilinear at ``q_k``.

    Args:
        depth: (B, 1, H, W) current depth.
        grid: (B, N * H, W, 2) neighbour positions (:func:`~.deformable.sampling_grid`).
        neighbour_weights: (B, N, H, W).
        centre_weight: (B, 1, H, W).
        bias: (1,) or a scalar tensor.

    Returns:
        (B, 1, H, W).
    """
    samples = sample_neighbours(depth, grid)[:, 0]  # (B, N, H, W)
    weighted = torch.linalg.vecdot(neighbour_weights, samples, dim=1).unsqueeze(1)
    return torch.addcmul(weighted + bias, centre_weight, depth)


class NLSPNPropagation(nn.Module):
    """The propagation layer (``prop_layer`` of NLSPN); see the module docstring.

    Args:
        guidance_channels: channels of the guidance map (the authors: N).
        kernel: window size k (odd, >= 3); N = k² - 1 neighbours.
        prop_time: propagation steps (18 in the paper).
        affinity_gamma: initial γ / N (0.5 in the paper).
        preserve_input: reset measured pixels before every step.
        legacy_offsets: sample the propagation at ``p + 2 d_k + o_k`` (the authors' released
            weights; see the module docstring).
    """

    w: Tensor
    b: Tensor
    w_conf: Tensor

    def __init__(self, guidance_channels: int, kernel: int = 3, *, prop_time: int = 18,
                 affinity_gamma: float = 0.5, preserve_input: bool = True,
                 legacy_offsets: bool = False) -> None:
        super().__init__()
        neighbours = kernel * kernel - 1
        kernel_offsets(kernel)  # checks the kernel size
        self.kernel, self.neighbours, self.prop_time = kernel, neighbours, prop_time
        self.preserve_input, self.legacy_offsets = preserve_input, legacy_offsets
        self.conv_offset_aff = nn.Conv2d(guidance_channels, 3 * neighbours, 3, 1, 1, bias=True)
        with torch.no_grad():  # zero offsets and affinities: the layer starts as the identity
            for param in self.conv_offset_aff.parameters():
                param.zero_()
        self.aff_scale_const = nn.Parameter(torch.full((1,), affinity_gamma * neighbours))
        self.register_buffer("w", torch.ones(1, 1, kernel, kernel))
        self.register_buffer("b", torch.zeros(1))
        self.register_buffer("w_conf", torch.ones(1, 1, 1, 1))

    def plan(self, guidance: Tensor, confidence: Tensor) -> PropagationPlan:
        """Offsets, sampling grid and normalised weights of one forward pass.

        Args:
            guidance: (B, guidance_channels, H, W).
            confidence: (B, 1, H, W) in [0, 1].
        """
        out = self.conv_offset_aff(guidance).float()
        batch, _, height, width = out.shape
        n = self.neighbours
        offsets = out[:, :2 * n].reshape(batch, n, 2, height, width)
        window = kernel_offsets(self.kernel, device=out.device)
        at_neighbour = neighbour_positions(offsets.detach(), window)
        conf = sample_neighbours(confidence.float(), sampling_grid(at_neighbour, height, width))
        bias = self.b.float()
        conf = conf[:, 0] * self.w_conf.float().view(()) + bias
        weights, centre = affinity_weights(out[:, 2 * n:], self.aff_scale_const.float(), conf)
        shift = 2.0 * window if self.legacy_offsets else window
        grid = sampling_grid(neighbour_positions(offsets, shift), height, width)
        taps = self.w.float().reshape(-1)
        middle = self.kernel * self.kernel // 2
        neighbour_taps = torch.cat((taps[:middle], taps[middle + 1:])).view(1, n, 1, 1)
        return PropagationPlan(grid, weights * neighbour_taps, centre * taps[middle], bias)

    def forward(self, initial: Tensor, guidance: Tensor, confidence: Tensor,
                sparse: Tensor) -> Tensor:
        """Refined depth.

        Args:
            initial: (B, 1, H, W) initial depth.
            guidance: (B, guidance_channels, H, W).
            confidence: (B, 1, H, W) confidence of ``initial``.
            sparse: (B, 1, H, W) measurements (0 = none), same units as ``initial``.

        Returns:
            (B, 1, H, W) float32 depth after ``prop_time`` steps.
        """
        plan = self.plan(guidance, confidence)
        depth, fixed = initial.float(), sparse.float()
        measured = fixed > 0
        for _ in range(self.prop_time):
            if self.preserve_input:
                depth = preserve(depth, fixed, measured)
            depth = propagate_once(depth, *plan)
        return depth
