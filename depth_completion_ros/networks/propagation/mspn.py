"""MSPN's masked spatial propagation (Jun, Lee, Kim, "Masked Spatial Propagation Network for
Sparsity-Adaptive Depth Refinement", CVPR 2024), as the authors' public code (jyjunmcl/MSPN_SDR,
MIT) runs it on KITTI, in plain PyTorch.

One step of a layer, for guidance G (B, L, H, W), depth D and mask M (B, 1, H, W):

1. ``G' = LN(G)``: a channel LayerNorm per pixel (eps 1e-6, weight and bias per channel);
2. ``[q, k] = conv1x1([G', D])`` (2L output channels; no 1/sqrt(L) scaling);
3. ``a = softmax_n(q · (k_n · M_n) + rpb[n - p])`` over the 13x13 window of each pixel: a masked
   key (M = 0) keeps only its relative position bias, it is not excluded;
4. ``D' = Σ_n a_n D_n`` and ``M' = Σ_n a_n M_n``; at sparse pixels M' keeps M.

The window is NATTEN's: at the image border it is shifted to stay inside the image, so every
pixel sees 169 real neighbours and nothing is zero-padded; the relative-position-bias index is
always (neighbour - pixel) + 12 in the 25x25 table. The windows are gathered with ``F.unfold``
(:func:`gather_windows`) in row strips of about 4M window entries, so that no operation makes a
window² x H x W temporary (tested against a per-pixel loop). As G does not change inside a
layer and the 1x1 convolution is linear in D, ``q · k_n`` splits into a part fixed per layer
(computed once, L channels) and terms in D (one channel per step); this is the same sum in
another order (float rounding differs, far below the 1e-3 m of the acceptance).

A refinement (:class:`MaskedPropagation`) runs two layers: the first ``N1`` times from ``D0`` with
the measurements written in (``D0·(1 - m) + S·m``, m = S > 0) and mask m; then the measurements are
written in once more, the mask reset to m, and the second layer runs ``N2 = 6`` times; the result is
clamped at 0. ``N1`` is the authors' code's (:func:`first_iterations`), not the paper's. On KITTI
their code neither blends with the previous depth nor resets the measurements inside a layer; the
paper's Eq. 6 and 10 (their NYU branch) are ``paper_blend=True``.

Example:
    >>> import torch
    >>> first_iterations(352, 1216, torch.tensor([16035, 847]))
    8
    >>> [int(i[0]) for i in neighbour_indices(20, 13)]  # row 0: rows 0 .. 12, shifted inside
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

#: window side of the authors' KITTI model
WINDOW = 13
#: κ of the iteration count
KAPPA = 2
#: the authors' minimum of N1 (their ``prop_time``) and their fixed N2
MIN_FIRST_ITERATIONS = 6
SECOND_ITERATIONS = 6
#: eps of the channel LayerNorm (NAFNet's LayerNorm2d)
LAYER_NORM_EPS = 1e-6


def first_iterations(height: int, width: int, num_samples: Tensor | int, *,
                     window: int = WINDOW, minimum: int = MIN_FIRST_ITERATIONS,
                     maximum: int | None = None) -> int:
    """N1 as the authors' code computes it, maximised over the batch.

    ``max(minimum, floor(κ·(sqrt(H·W / s) - 1) / (window // 2)) + 1)`` in float32, s = valid
    LiDAR samples per frame (the authors: the 352-row frame's count scaled by lines / 64).

    Args:
        height, width: size of the propagated map, pixels.
        num_samples: (B,) or a scalar: s per frame; s < 1 counts as 1 (an empty scan).
        window: window side p.
        minimum: lower bound (the authors' ``prop_time``, 6).
        maximum: upper bound, None = none (the authors have none).
    """
    samples = torch.as_tensor(num_samples).reshape(-1).to(torch.float32).clamp(min=1.0).cpu()
    ratio = torch.tensor(height * width, dtype=torch.float32) / samples
    distance = ratio ** 0.5 - 1
    counts = torch.floor(distance * KAPPA / (window // 2)) + 1
    n1 = max(max(minimum, int(c)) for c in counts.tolist())
    return n1 if maximum is None else min(n1, maximum)


def window_starts(length: int, window: int, device: torch.device | None = None) -> Tensor:
    """(length,) int64 first index of each position's window (NATTEN's border shift)."""
    index = torch.arange(length, device=device)
    return (index - window // 2).clamp(0, length - window)


def relative_bias(rpb: Tensor, height: int, width: int, window: int = WINDOW) -> Tensor:
    """(window², H, W) relative position bias of every pixel's window entries.

    Args:
        rpb: (1, 2·window - 1, 2·window - 1) table, index (neighbour - pixel) + window - 1.
    """
    device = rpb.device
    k = torch.arange(window, device=device)
    row_idx = window_starts(height, window, device)[None, :] + k[:, None] \
        - torch.arange(height, device=device)[None, :] + window - 1             # (window, H)
    col_idx = window_starts(width, window, device)[None, :] + k[:, None] \
        - torch.arange(width, device=device)[None, :] + window - 1              # (window, W)
    bias = rpb[0][row_idx[:, None, :, None], col_idx[None, :, None, :]]        # (w, w, H, W)
    return bias.reshape(window * window, height, width)


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at each pixel (NAFNet's ``LayerNorm2d``): biased variance,
    ``eps`` inside the square root, per-channel ``weight`` and ``bias``.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int, eps: float = LAYER_NORM_EPS) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        y = (x - mean) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


@dataclass(frozen=True)
class LayerTerms:
    """What one layer's steps share (G is fixed inside a layer), per row strip.

    ``q · k_n = fixed_n + D·key_depth_n + D_n·query_depth + D·D_n·depth_depth`` before the mask,
    with q = A + a·D and k = K + b·D from the 1x1 convolution.

    Attributes:
        strips: row ranges (y0, y1) (:func:`strips`).
        fixed: per strip, (B, window², h, W) ``A · K_n``.
        bias: per strip, (window², h, W) relative position bias.
        key_depth: (B, 1, H, W) ``a · K`` (gathered at the neighbours each step).
        query_depth: (B, 1, H, W) ``A · b``.
        depth_depth: () ``a · b``.
    """

    strips: list[tuple[int, int]]
    fixed: list[Tensor]
    bias: list[Tensor]
    key_depth: Tensor
    query_depth: Tensor
    depth_depth: Tensor


def neighbour_indices(length: int, window: int, device: torch.device | None = None
                      ) -> list[Tensor]:
    """Per window index k, (length,) int64 ``start(i) + k``: the k-th neighbour of each i."""
    starts = window_starts(length, window, device)
    return [starts + k for k in range(window)]


#: elements of one (B, window², rows, W) strip tensor (measured fastest of 2^17 .. 2^22 on a 2-core
#: CPU with one thread): small enough to stay in the CPU's cache,
#: large enough that per-operation overhead does not dominate
STRIP_ELEMENTS = 1 << 19


def strips(batch: int, height: int, width: int, window: int = WINDOW
           ) -> list[tuple[int, int]]:
    """Row ranges (y0, y1) covering ``height`` rows, each about :data:`STRIP_ELEMENTS` window
    entries."""
    rows = max(1, STRIP_ELEMENTS // max(1, batch * window * window * width))
    return [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]


def gather_windows(x: Tensor, window: int = WINDOW, rows: tuple[int, int] | None = None
                   ) -> Tensor:
    """The window of every pixel of rows y0 .. y1 - 1, shifted inside the image at the border.

    ``F.unfold`` gives the windows of the pixels whose window is centred; a border pixel's
    window is that of the nearest centred position, so rows are picked with the window starts
    and columns are replicate-padded.

    Args:
        x: (B, C, H, W), H and W >= ``window``.
        window: window side.
        rows: (y0, y1); None = all rows.

    Returns:
        (B, C, window², h, W), h = y1 - y0: ``out[..., ki * window + kj, y - y0, x] =
        x[..., start(y) + ki, start(x) + kj]`` (:func:`window_starts`).
    """
    batch, channels, height, width = x.shape
    y0, y1 = (0, height) if rows is None else rows
    r = window // 2
    starts = window_starts(height, window, x.device)[y0:y1]
    first, last = int(starts[0]), int(starts[-1])
    slab = x[:, :, first:last + window].reshape(batch * channels, 1, last - first + window,
                                                width)
    cols = F.unfold(slab, window).view(batch * channels, window * window, last - first + 1,
                                       width - 2 * r)
    if last - first + 1 != y1 - y0:          # border rows share their shifted window
        cols = cols.index_select(2, starts - first)
    cols = F.pad(cols, (r, r, 0, 0), mode="replicate")
    return cols.view(batch, channels, window * window, y1 - y0, width)


def _fixed_products(query: Tensor, key: Tensor, window: int, rows: tuple[int, int]
                    ) -> Tensor:
    """(B, window², h, W) ``Σ_c query_c · key_c,n`` for rows y0 .. y1 - 1, a channel at a
    time."""
    y0, y1 = rows
    out = query.new_zeros(query.shape[0], window * window, y1 - y0, query.shape[3])
    for c in range(query.shape[1]):
        out = out + query[:, c:c + 1, y0:y1] * gather_windows(key[:, c:c + 1], window, rows)[:, 0]
    return out


class MSPNLayer(nn.Module):
    """One masked-propagation layer; parameter names are the authors' (``rpb``, ``norm1``,
    ``conv``).

    Args:
        channels: guidance channels L.
        window: window side (13).
        rpb_sigma: 0 = the authors' init of the bias table (truncated normal, std 0.02); > 0 =
            ``-(dy² + dx²) / (2 σ²)`` and the 1x1 convolution scaled (bias 0): a start close
            to identity, for refining a good D0 with little training.
        guidance_init_scale: with ``rpb_sigma`` > 0, the factor on the 1x1 convolution's
            guidance weights (its depth weights always get 0.01: depth in metres makes the
            D · D_n term large). 0.01 puts q · k near 0, which also starves the guidance of
            gradient (each side's gradient scales with the other); 1.0 keeps PyTorch's init
            there, so the guidance learns from the first step.
    """

    def __init__(self, channels: int, window: int = WINDOW, *, rpb_sigma: float = 0.0,
                 guidance_init_scale: float = 0.01) -> None:
        super().__init__()
        self.window = window
        self.norm1 = LayerNorm2d(channels)
        self.conv = nn.Conv2d(channels + 1, 2 * channels, 1)
        side = 2 * window - 1
        self.rpb = nn.Parameter(torch.zeros(1, side, side))
        if rpb_sigma > 0:
            offsets = torch.arange(side, dtype=torch.float32) - (window - 1)
            dist2 = offsets[:, None] ** 2 + offsets[None, :] ** 2
            with torch.no_grad():
                self.rpb.copy_(-dist2[None] / (2 * rpb_sigma ** 2))
                # depth in metres makes the D · D_n term large: its weights start near 0
                self.conv.weight[:, :channels].mul_(guidance_init_scale)
                self.conv.weight[:, channels:].mul_(0.01)
                if self.conv.bias is not None:
                    self.conv.bias.zero_()
        else:
            nn.init.trunc_normal_(self.rpb, std=0.02, a=-2.0, b=2.0)

    def terms(self, guidance: Tensor) -> LayerTerms:
        """The per-layer part of the attention logits for guidance (B, L, H, W).

        Raises:
            ValueError: an image smaller than the window.
        """
        channels, (height, width) = guidance.shape[1], guidance.shape[2:]
        if height < self.window or width < self.window:
            raise ValueError(f"masked propagation needs an image of at least "
                             f"{self.window}x{self.window} pixels, got {height}x{width}")
        normed = self.norm1(guidance)
        weight = self.conv.weight[:, :, 0, 0]
        bias = self.conv.bias if self.conv.bias is not None else weight.new_zeros(2 * channels)
        guide_w, depth_w = weight[:, :channels], weight[:, channels]
        query = F.conv2d(normed, guide_w[:channels, :, None, None], bias[:channels])
        key = F.conv2d(normed, guide_w[channels:, :, None, None], bias[channels:])
        q_depth, k_depth = depth_w[:channels], depth_w[channels:]
        rows = strips(guidance.shape[0], height, width, self.window)
        if torch.is_grad_enabled() and guidance.requires_grad:
            fixed = [checkpoint(_fixed_products, query, key, self.window, r, use_reentrant=False)
                     for r in rows]
        else:
            fixed = [_fixed_products(query, key, self.window, r) for r in rows]
        bias = relative_bias(self.rpb, height, width, self.window)
        return LayerTerms(rows, fixed, [bias[:, y0:y1] for y0, y1 in rows],
                          (key * q_depth.view(1, -1, 1, 1)).sum(1, keepdim=True),
                          (query * k_depth.view(1, -1, 1, 1)).sum(1, keepdim=True),
                          (q_depth * k_depth).sum())

    def _strip(self, terms: LayerTerms, index: int, depth: Tensor, mask: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
        """Strip ``index`` of one step: attention (B, window², h, W), summing to 1 over dim 1,
        and the neighbours' depths and masks it weighs (same shape)."""
        w, rows = self.window, terms.strips[index]
        y0, y1 = rows
        depth_n = gather_windows(depth, w, rows)[:, 0]
        mask_n = gather_windows(mask, w, rows)[:, 0]
        key_n = gather_windows(terms.key_depth, w, rows)[:, 0]
        centre = depth[:, :, y0:y1]
        logits = terms.fixed[index] + centre * key_n + depth_n * (
            terms.query_depth[:, :, y0:y1] + terms.depth_depth * centre)
        logits = logits * mask_n + terms.bias[index]
        return torch.softmax(logits, dim=1), depth_n, mask_n

    def attention(self, terms: LayerTerms, depth: Tensor, mask: Tensor) -> Tensor:
        """(B, window², H, W) attention of one step; sums to 1 over dim 1 (for inspection:
        :meth:`step` never builds it whole)."""
        return torch.cat([self._strip(terms, i, depth, mask)[0]
                          for i in range(len(terms.strips))], 2)

    def step(self, terms: LayerTerms, depth: Tensor, mask: Tensor, sparse: Tensor,
             paper_blend: bool) -> tuple[Tensor, Tensor]:
        """One propagation step: (depth, mask) -> (depth', mask'), all (B, 1, H, W)."""
        depths, masks = [], []
        for index in range(len(terms.strips)):
            attn, depth_n, mask_n = self._strip(terms, index, depth, mask)
            depths.append((attn * depth_n).sum(1, keepdim=True))
            masks.append((attn * mask_n).sum(1, keepdim=True))
        new_depth, new_mask = torch.cat(depths, 2), torch.cat(masks, 2)
        measured = sparse > 0
        if paper_blend:
            new_depth = new_depth * mask + depth * (1 - mask)
            new_depth = torch.where(measured, sparse, new_depth)
        return new_depth, torch.where(measured, mask, new_mask)

    def run(self, guidance: Tensor, depth: Tensor, mask: Tensor, sparse: Tensor,
            iterations: int, paper_blend: bool = False) -> tuple[Tensor, Tensor]:
        """``iterations`` steps from (depth, mask); gradient checkpointing per step when
        training (the attention maps are window² times the image)."""
        terms = self.terms(guidance)
        train = torch.is_grad_enabled() and (guidance.requires_grad or depth.requires_grad)
        for _ in range(iterations):
            if train:
                depth, mask = checkpoint(self.step, terms, depth, mask, sparse, paper_blend,
                                         use_reentrant=False)
            else:
                depth, mask = self.step(terms, depth, mask, sparse, paper_blend)
        return depth, mask


@dataclass(frozen=True)
class PropagationResult:
    """Output of :func:`propagate` / :class:`MaskedPropagation`.

    Attributes:
        depth: (B, 1, H, W) final depth, clamped at 0.
        stage1: (B, 1, H, W) depth after the first layer (before the measurements are
            written in again).
        mask1, mask2: (B, 1, H, W) masks after the first and the second layer, in [0, 1].
        iterations: (N1, N2).
    """

    depth: Tensor
    stage1: Tensor
    mask1: Tensor
    mask2: Tensor
    iterations: tuple[int, int]


class MaskedPropagation(nn.Module):
    """The two layers of the SDR refinement, ``mspn`` and ``mspn_2nd`` (the authors' names).

    Args:
        channels: guidance channels L.
        window: window side.
        min_iterations: lower bound of N1 (6).
        second_iterations: N2 (6).
        max_iterations: upper bound of N1 (None = none; bounds run time on near-empty scans).
        paper_blend: the paper's Eq. 6 / 10 (blend with the previous depth by the mask, reset
            the measurements every step), the authors' NYU branch; False = their KITTI path.
        rpb_sigma, guidance_init_scale: see :class:`MSPNLayer`.
    """

    def __init__(self, channels: int, window: int = WINDOW, *,
                 min_iterations: int = MIN_FIRST_ITERATIONS,
                 second_iterations: int = SECOND_ITERATIONS, max_iterations: int | None = None,
                 paper_blend: bool = False, rpb_sigma: float = 0.0,
                 guidance_init_scale: float = 0.01) -> None:
        super().__init__()
        self.window, self.min_iterations = window, min_iterations
        self.second_iterations, self.max_iterations = second_iterations, max_iterations
        self.paper_blend = paper_blend
        init = {"rpb_sigma": rpb_sigma, "guidance_init_scale": guidance_init_scale}
        self.mspn = MSPNLayer(channels, window, **init)
        self.mspn_2nd = MSPNLayer(channels, window, **init)

    def forward(self, guidance: Tensor, initial: Tensor, sparse: Tensor,
                num_samples: Tensor | int) -> PropagationResult:
        """Refine ``initial`` (B, 1, H, W) with guidance (B, L, H, W) and the measurements
        ``sparse`` (B, 1, H, W, 0 = none); ``num_samples`` (B,) valid samples per frame."""
        measured = sparse > 0
        mask_init = measured.to(initial.dtype)
        depth = torch.where(measured, sparse, initial)
        height, width = initial.shape[2:]
        n1 = first_iterations(height, width, num_samples, window=self.window,
                              minimum=self.min_iterations, maximum=self.max_iterations)
        stage1, mask1 = self.mspn.run(guidance, depth, mask_init, sparse, n1, self.paper_blend)
        depth = torch.where(measured, sparse, stage1)
        depth, mask2 = self.mspn_2nd.run(guidance, depth, mask_init, sparse,
                                         self.second_iterations, self.paper_blend)
        return PropagationResult(depth.clamp(min=0.0), stage1, mask1, mask2,
                                 (n1, self.second_iterations))
