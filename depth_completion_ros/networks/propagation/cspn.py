"""CSPN's convolutional spatial propagation (Cheng, Wang, Yang, ECCV 2018), plain PyTorch.

A guidance map of 8 gates per pixel drives a 3x3 propagation of a depth map. Facts, with where
they come from:

* **Gates are read at the neighbour** (the authors' ``models/cspn.py``): gate channel ``c`` of
  pixel p is the weight with which p's depth flows to its neighbour in direction ``e_c``, the
  directions in row-major window order without the centre (``c`` = 0: top-left, 1: top,
  2: top-right, 3: left, 4: right, 5: bottom-left, 6: bottom, 7: bottom-right; their
  ``gate1`` .. ``gate8``). So pixel q collects ``g_c(q - e_c) x(q - e_c)`` from each of its
  eight neighbours; a neighbour outside the image has gate 0 and depth 0.
* **Normalisation** (paper, Eq. 1 and the code): at each q the eight gates it collects are
  divided by the sum of their absolute values, so ``Σ_c |w_c(q)| = 1``, and the centre weight is
  ``w_0(q) = 1 - Σ_c w_c(q)``: every step is an affine combination (weights summing to 1),
  convex where the gates are non-negative. Where all eight gates are 0 the authors' code
  divides 0 by 0; here the sum is clamped at :data:`ABS_SUM_EPS`, which leaves the step the
  identity there.
* **Step** (paper, Eq. 1): ``x_{t+1}(q) = w_0(q) x_t(q) + Σ_c w_c(q) x_t(q - e_c)``. The
  authors' code multiplies the centre weight by the *initial* depth at every step instead (its
  README calls the paper's formulation of the centre term an error; their issue tracker and
  CSPN++ use the current depth); ``centre_from_initial=True`` gives the code's form.
* **Sparse replacement** (paper, Eq. 4): after every step the measured pixels are set to the
  measurement, ``x = (1 - m) x + m s`` with ``m = s > 0``. The code writes the network's own
  initial depth there instead of the measurement, which discards the LiDAR; it is not kept.
* 24 steps (the paper's KITTI / NYU setting).

No learnable parameters: the propagation is fixed arithmetic on the gates.

Confidence (CSPN has none; derived here, model card in models/README.md): two quantities of
the propagation itself,

* *support* ``s``: the same propagation applied to the measurement mask (1 at measured pixels,
  re-imposed after every step, 0 elsewhere at the start), clamped to [0, 1]: the share of a
  pixel's depth that came from measurements rather than from the network's initial guess;
* *spread* ``σ(q) = sqrt(Σ_c |w_c(q)| (x(q - e_c) - x(q))²)`` of the final depth: how much the
  neighbours the last step averaged disagree with the result (large at depth edges, where
  averaging across an edge puts a pixel between foreground and background, and growing with
  distance, as absolute errors do);

``confidence = s · exp(-σ / σ0)`` in [0, 1], σ0 = ``spread_scale`` (metres). Its ranking of
real errors is measured in ``benchmarks/cspn_confidence.py``.

Example:
    >>> import torch
    >>> gates = torch.ones(1, 8, 4, 5)
    >>> neighbours, centre = cspn_weights(gates)
    >>> float(neighbours[0, :, 2, 2].sum()), float(centre[0, 0, 2, 2])
    (1.0, 0.0)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: lower bound of Σ|g| before dividing (only reached where all gates are ~0)
ABS_SUM_EPS = 1e-8
#: row-major 3x3 directions ``e_c`` (dy, dx) of the eight gates, the centre left out
DIRECTIONS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
#: index of the 3x3 window position ``q - e_c`` in ``F.unfold``'s row-major order, per gate
_WINDOW_INDEX = tuple(3 * (1 - dy) + (1 - dx) for dy, dx in DIRECTIONS)
_CENTRE = 4


def from_neighbours(x: Tensor, dy: int, dx: int) -> Tensor:
    """``x(q - (dy, dx))`` at every q, zeros where that lies outside the image.

    Args:
        x: (B, C, H, W).
        dy, dx: -1, 0 or 1.

    Example:
        >>> t = torch.arange(6.0).view(1, 1, 2, 3)
        >>> from_neighbours(t, 0, 1)[0, 0].tolist()
        [[0.0, 0.0, 1.0], [0.0, 3.0, 4.0]]
    """
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    return padded[..., 1 - dy:1 - dy + height, 1 - dx:1 - dx + width]


def cspn_weights(gates: Tensor) -> tuple[Tensor, Tensor]:
    """Normalised weights every pixel gives its eight neighbours, and its centre weight.

    Args:
        gates: (B, 8, H, W) raw gates, channel ``c`` for direction ``DIRECTIONS[c]``.

    Returns:
        neighbours (B, 8, H, W), ``[:, c]`` the weight of ``x(q - e_c)`` at q, with
        ``Σ_c |w_c| = 1`` (0 where all gates are 0), and centre (B, 1, H, W) ``1 - Σ_c w_c``.
    """
    if gates.shape[1] != len(DIRECTIONS):
        raise ValueError(f"CSPN needs 8 gates per pixel, got {gates.shape[1]} channels")
    collected = torch.cat([from_neighbours(gates[:, c:c + 1], dy, dx)
                           for c, (dy, dx) in enumerate(DIRECTIONS)], dim=1)
    total = collected.abs().sum(dim=1, keepdim=True).clamp(min=ABS_SUM_EPS)
    neighbours = collected / total
    return neighbours, 1.0 - neighbours.sum(dim=1, keepdim=True)


def window_weights(neighbours: Tensor, centre: Tensor) -> Tensor:
    """(B, 9, H, W) weights in ``F.unfold``'s 3x3 window order (centre at index 4)."""
    parts: list[Tensor] = [centre] * 9
    for c, index in enumerate(_WINDOW_INDEX):
        parts[index] = neighbours[:, c:c + 1]
    return torch.cat(parts, dim=1)


def neighbourhood(x: Tensor) -> Tensor:
    """(B, 9, H, W): the 3x3 window of a (B, 1, H, W) map at every pixel, zeros outside."""
    batch, _, height, width = x.shape
    return F.unfold(x, 3, padding=1).view(batch, 9, height, width)


def propagate_once(depth: Tensor, weights: Tensor, centre_depth: Tensor | None = None) -> Tensor:
    """One step ``x'(q) = w_0 x(q) + Σ_c w_c x(q - e_c)``.

    Args:
        depth: (B, 1, H, W).
        weights: (B, 9, H, W) from :func:`window_weights`.
        centre_depth: the map the centre weight multiplies (default ``depth``; the authors' code
            passes the initial depth).
    """
    window = neighbourhood(depth)
    if centre_depth is not None:
        window = torch.cat((window[:, :_CENTRE], centre_depth, window[:, _CENTRE + 1:]), dim=1)
    out: Tensor = torch.linalg.vecdot(weights, window, dim=1)
    return out.unsqueeze(1)


def replace_measured(depth: Tensor, sparse: Tensor, measured: Tensor) -> Tensor:
    """The paper's Eq. 4: measured pixels set to the measurement."""
    return torch.where(measured, sparse, depth)


class CSPNResult(NamedTuple):
    """One propagation, all (B, 1, H, W) float32.

    Attributes:
        depth: after ``prop_time`` steps (measured pixels hold the measurement).
        support: share of each pixel's depth that came from measurements, [0, 1].
        spread: affinity-weighted disagreement of the last step's neighbours (depth units).
    """

    depth: Tensor
    support: Tensor
    spread: Tensor


class CSPNPropagation(nn.Module):
    """The propagation of the module docstring (no parameters).

    Args:
        prop_time: steps (24 in the paper).
        centre_from_initial: the authors' code's centre term (initial depth at every step).
    """

    def __init__(self, prop_time: int = 24, *, centre_from_initial: bool = False) -> None:
        super().__init__()
        if prop_time < 0:
            raise ValueError(f"prop_time must be >= 0, got {prop_time}")
        self.prop_time, self.centre_from_initial = prop_time, centre_from_initial

    def forward(self, initial: Tensor, gates: Tensor, sparse: Tensor) -> CSPNResult:
        """Propagate ``initial`` with ``gates``, re-imposing ``sparse`` (0 = none) every step.

        Args:
            initial: (B, 1, H, W) initial depth.
            gates: (B, 8, H, W) raw gates.
            sparse: (B, 1, H, W) measurements, same units as ``initial``.
        """
        weights = window_weights(*cspn_weights(gates.float()))
        initial, fixed = initial.float(), sparse.float()
        measured = fixed > 0
        centre = initial if self.centre_from_initial else None
        depth = initial
        support = measured.float()
        mask = support
        for _ in range(self.prop_time):
            depth = replace_measured(propagate_once(depth, weights, centre), fixed, measured)
            support = replace_measured(propagate_once(support, weights), mask, measured)
        return CSPNResult(depth, support.clamp(0.0, 1.0), self.spread(depth, weights))

    @staticmethod
    def spread(depth: Tensor, weights: Tensor) -> Tensor:
        """``sqrt(Σ_c |w_c| (x(q - e_c) - x(q))²)`` (the centre contributes 0)."""
        differences = neighbourhood(depth) - depth
        variance: Tensor = torch.linalg.vecdot(weights.abs(), differences.square(), dim=1)
        return variance.clamp(min=0.0).sqrt().unsqueeze(1)


def derived_confidence(result: CSPNResult, spread_scale: float) -> Tensor:
    """``support · exp(-spread / spread_scale)``, (B, 1, H, W) in [0, 1]."""
    return result.support * torch.exp(-result.spread / spread_scale)
