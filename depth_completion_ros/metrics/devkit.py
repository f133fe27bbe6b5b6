"""KITTI depth-completion devkit metrics, per frame and averaged over frames.

Per frame, over the pixels where the ground truth is valid (finite and > 0): RMSE and MAE in mm,
iRMSE and iMAE in 1/km, abs rel, sq rel and the fraction with ``max(p/g, g/p) < 1.25**k``. The
aggregate is the plain mean of the per-frame values, as the official devkit computes it.

sq rel is the devkit's ``mean((p - g)**2 / g**2)`` (``evaluate_depth.cpp``), which differs from the
``mean((p - g)**2 / g)`` (metres) of Eigen et al. used in many monocular papers; compare with care.

Invalid predictions (NaN, inf or <= 0; in a KITTI PNG a 0) are, by default (``invalid="devkit"``),
filled the way the devkit's ``interpolateBackground`` does before scoring: inside a row, a gap
between two valid pixels takes the smaller (nearer) of the two; gaps at the row ends take the
nearest valid value; rows with no valid pixel take the first / last valid row above / below.
Whatever is still invalid, and every invalid pixel with ``invalid="clamp"``, is set to
``min_depth`` (1 mm by default), a heavy penalty in iRMSE.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from depth_completion_ros.arrays import Array, BoolArray, Float64Array
from depth_completion_ros.errors import InputError

#: Ground-truth distance bins (metres) of :func:`binned_metrics`.
DISTANCE_BINS: tuple[tuple[float, float], ...] = ((0.0, 20.0), (20.0, 40.0), (40.0, 80.0))


@dataclass(frozen=True)
class DepthMetrics:
    """Devkit metrics of one frame (or their mean over frames; ``num_pixels`` is then the sum)."""

    rmse_mm: float
    mae_mm: float
    irmse_per_km: float
    imae_per_km: float
    abs_rel: float
    sq_rel: float
    delta1: float
    delta2: float
    delta3: float
    num_pixels: int

    def as_dict(self) -> dict[str, float]:
        """Field name -> value, for reports and JSON."""
        return asdict(self)


def fill_invalid_devkit(pred: Array) -> Float64Array:
    """Fill invalid (NaN, inf, <= 0) pixels of an (H, W) depth map like the devkit; NaN remains
    only where the whole image is invalid or in an all-invalid row between valid rows."""
    depth = np.where(np.isfinite(pred) & (pred > 0), pred, np.nan).astype(np.float64)
    depth = _fill_rows(depth)
    rows = np.flatnonzero(~np.isnan(depth[:, 0]))
    if rows.size:
        depth[: rows[0]] = depth[rows[0]]
        depth[rows[-1] + 1:] = depth[rows[-1]]
    return depth


def _fill_rows(depth: Float64Array) -> Float64Array:
    h, w = depth.shape
    valid = ~np.isnan(depth)
    cols = np.broadcast_to(np.arange(w), (h, w))
    prev = np.maximum.accumulate(np.where(valid, cols, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, cols, w)[:, ::-1], axis=1)[:, ::-1]
    rows = np.arange(h)[:, None]
    prev_val = np.where(prev >= 0, depth[rows, np.clip(prev, 0, w - 1)], np.nan)
    next_val = np.where(nxt < w, depth[rows, np.clip(nxt, 0, w - 1)], np.nan)
    both = np.fmin(prev_val, next_val)  # fmin: one NaN side -> the other side (row ends)
    return np.where(valid, depth, both)


def _prepare(pred: Array, gt: Array, invalid: str, min_depth: float) -> Float64Array:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise InputError(f"prediction {pred.shape} and ground truth {gt.shape} must be the same "
                         f"(H, W) shape")
    if invalid not in ("devkit", "clamp"):
        raise InputError(f"invalid: expected 'devkit' or 'clamp', got {invalid!r}")
    if invalid == "devkit":
        pred = fill_invalid_devkit(pred)
    return np.where(np.isfinite(pred) & (pred > 0), pred, min_depth)


def _scores(p: Float64Array, g: Float64Array) -> DepthMetrics:
    err = p - g
    inv = 1.0 / p - 1.0 / g
    ratio = np.maximum(p / g, g / p)
    return DepthMetrics(
        rmse_mm=float(np.sqrt(np.mean(err**2)) * 1e3), mae_mm=float(np.mean(np.abs(err)) * 1e3),
        irmse_per_km=float(np.sqrt(np.mean(inv**2)) * 1e3),
        imae_per_km=float(np.mean(np.abs(inv)) * 1e3),
        abs_rel=float(np.mean(np.abs(err) / g)), sq_rel=float(np.mean(err**2 / g**2)),
        delta1=float(np.mean(ratio < 1.25)), delta2=float(np.mean(ratio < 1.25**2)),
        delta3=float(np.mean(ratio < 1.25**3)), num_pixels=int(g.size))


def _gt_mask(gt: Array) -> BoolArray:
    gt = np.asarray(gt, dtype=np.float64)
    mask: BoolArray = np.isfinite(gt) & (gt > 0)
    return mask


def frame_metrics(pred: Array, gt: Array, *, invalid: str = "devkit",
                  min_depth: float = 1e-3) -> DepthMetrics:
    """Devkit metrics of one (H, W) prediction against (H, W) ground truth, both metres.

    Raises:
        InputError: Shapes differ, unknown ``invalid`` policy, or no valid ground-truth pixel.

    Example:
        >>> m = frame_metrics(np.array([[2.0, 4.0]]), np.array([[1.0, 4.0]]))
        >>> round(m.mae_mm), round(m.imae_per_km), m.delta1
        (500, 250, 0.5)
    """
    filled = _prepare(pred, gt, invalid, min_depth)
    mask = _gt_mask(gt)
    if not mask.any():
        raise InputError("ground truth has no valid (finite, > 0) pixel")
    return _scores(filled[mask], np.asarray(gt, dtype=np.float64)[mask])


def binned_metrics(pred: Array, gt: Array, *,
                   bins: Sequence[tuple[float, float]] = DISTANCE_BINS, invalid: str = "devkit",
                   min_depth: float = 1e-3) -> dict[tuple[float, float], DepthMetrics | None]:
    """Devkit metrics per ground-truth distance bin ``[lo, hi)`` metres; None for an empty bin."""
    filled = _prepare(pred, gt, invalid, min_depth)
    g = np.asarray(gt, dtype=np.float64)
    valid = _gt_mask(g)
    out: dict[tuple[float, float], DepthMetrics | None] = {}
    for lo, hi in bins:
        mask = valid & (g >= lo) & (g < hi)
        out[(lo, hi)] = _scores(filled[mask], g[mask]) if mask.any() else None
    return out


def mean_metrics(frames: Sequence[DepthMetrics | None]) -> DepthMetrics | None:
    """Mean of per-frame metrics (the devkit's aggregate); None entries are skipped.

    Returns:
        The mean with ``num_pixels`` summed, or None when no frame has metrics.
    """
    present = [f for f in frames if f is not None]
    if not present:
        return None
    values = {f.name: float(np.mean([getattr(m, f.name) for m in present]))
              for f in fields(DepthMetrics) if f.name != "num_pixels"}
    return DepthMetrics(**values, num_pixels=sum(m.num_pixels for m in present))
