"""The classical model: learning-free, CPU-only, numpy + OpenCV (+ Numba for steps 2-3,
:mod:`.ring_kernel`, when installed); the package's default.

Built on IP-Basic's observations (Ku et al. 2018: work in inverted depth, fill rows before
columns, median then blur) but with the fill chosen for how a spinning LiDAR samples the image:
each beam is a near-horizontal line of dense samples and the gaps are between beams. So:

1. inverse depth ``1 / d`` of the measurements (so planes interpolate exactly: ``1/z`` is
   affine in the pixel coordinates on a plane, e.g. the road);
2. horizontal gap fill inside each beam: an empty pixel takes the nearest (largest inverse depth)
   value within ``row_fill_px`` pixels of its row;
3. per column, linear interpolation of inverse depth between the nearest filled pixel above and
   below (:mod:`~depth_completion_ros.models.column_fill`, vectorised); above the top beam the
   top value is extended (IP-Basic's extrapolation), below the lowest beam the lowest value.
   This adapts to any beam spacing (64, 32, 16, 4 lines) without per-density kernels. Columns
   with no measurement at all (gaps of sparse scans) interpolate between the nearest filled
   columns left and right. Where the two ends differ by more than ``jump_ratio`` (a depth
   discontinuity between two beams: the edge is somewhere in the gap, side unknown) the value
   is ``jump_blend`` times the inverse-depth interpolation plus the rest times the
   interpolation linear in depth, which keeps the estimate from collapsing onto the near
   surface (better squared error). Optionally (``plane_tolerance`` > 0; off by default) a gap
   whose two ends and the next filled pixel below are collinear in (row, inverse depth) is
   taken for a plane (far ground of a sparse LiDAR), not a discontinuity, and keeps the exact
   inverse-depth interpolation;
4. ``median_px`` median on the inverse depth, then ``blur_px`` Gaussian on the depth: at
   discontinuities the estimate becomes the mean depth of the two surfaces, which is what
   minimises the squared error when the side a pixel belongs to is uncertain.

Work is limited to the rows from the top measurement down. Above the LiDAR's field of view there
is nothing to complete from: rows more than ``top_margin_px`` above the top measured row get no
estimate (NaN depth, confidence 0) instead of IP-Basic's upward extension, so the node never
publishes invented sky depth; the ``top_margin_px`` rows just above copy the top row with a
fading confidence. (Scoring is unaffected: the devkit fills missing predictions from the rows
below, which is the same extension.)

Confidence (documented in models/README.md), per pixel::

    c = exp(-dist_px / confidence_distance_px) * exp(-spread / confidence_spread)

``dist_px``: pixel distance along the column to the nearest measurement (after the in-beam row
fill, so about the distance to the nearest beam); ``spread``: relative depth range in the 3x3
neighbourhood of the output depth, ``(max(d) - min(d)) / d``. The ``top_margin_px`` rows above
the top beam get ``c`` times ``exp(-rows_above / 8)``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, FloatArray, UInt8Array
from depth_completion_ros.models import ring_kernel
from depth_completion_ros.models.base import (
    CompletionOutput,
    ModelInput,
    ModelSpec,
    SpecModel,
    check_completion_inputs,
    learning_free_factory,
)
from depth_completion_ros.models.column_fill import (
    ColumnBrackets,
    column_brackets,
    fill_empty_columns,
    on_plane,
)
from depth_completion_ros.models.nearest import nearest_fill
from depth_completion_ros.models.registry import register_model
from depth_completion_ros.models.scan_pattern import detect_pattern
from depth_completion_ros.models.workspace import Workspace

SPEC = ModelSpec("classical", required=(ModelInput.SPARSE_DEPTH,),
                 description="learning-free beam-aware fill (default, CPU)")
_SPREAD_KERNEL = np.ones((3, 3), np.uint8)
PATTERNS = ("auto", "rings", "scattered")


@dataclass(frozen=True)
class ClassicalConfig:
    """Config of the classical model (all sizes in pixels, depths in metres).

    Attributes:
        min_depth: measurements at or below are ignored.
        row_fill_px: width of the horizontal in-beam gap fill (odd, >= 1).
        median_px: median filter size on inverse depth (3 or 5; 0 = off).
        jump_ratio: inverse-depth ratio of a gap's two ends above which it is a discontinuity.
        jump_blend: weight of the inverse-depth interpolation at discontinuities (the rest is
            the interpolation linear in depth), in [0, 1].
        plane_tolerance: relative tolerance of the plane test that exempts a gap from the
            blend (:func:`~depth_completion_ros.models.column_fill.on_plane`; 0 = off, >= 0).
            Off by default: on KITTI (32 / 16 lines held out) 0.05 changed RMSE / MAE by
            -0.01..+0.14 % / -0.69..+0.21 % and cost ~5 % time; on a synthetic 16-line scan of
            flat ground it cut the 95th-percentile error below 60 m from 3.7 % to 0.8 %. Set
            0.05 for sparse LiDARs over open ground. The test has no compiled loop: with it
            the whole fill takes the numpy path (about twice the time).
        blur_px: Gaussian size on depth (odd; 0 = off).
        confidence_distance_px: pixel distance at which the distance term falls to 1/e.
        confidence_spread: relative depth spread at which the spread term falls to 1/e.
        pattern: "auto" (test each frame: :func:`.scan_pattern.detect_pattern`), "rings" (the
            beam-aware fill always) or "scattered" (the scattered fill always).
        scattered_blur_px: Gaussian size on the nearest-measurement fill used for scans
            without ring structure (odd; 0 = off): on synthetic rosette and raster-grid scans
            5 lowered RMSE below plain nearest fill by 2-5 %.
        top_margin_px: rows above the top measured row that still get an estimate (the top
            row extended upwards); rows above those are NaN (>= 0). The default covers the
            held-out beam just above the top input beam (at most 12 rows above it on the shared
            KITTI frames with 32 or 16 lines in).
    """

    min_depth: float = 0.1
    row_fill_px: int = 7
    median_px: int = 3
    blur_px: int = 13
    jump_ratio: float = 1.3
    jump_blend: float = 0.5
    plane_tolerance: float = 0.0
    confidence_distance_px: float = 6.0
    confidence_spread: float = 0.1
    top_margin_px: int = 16
    pattern: str = "auto"
    scattered_blur_px: int = 5

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"pattern must be one of {PATTERNS}, got {self.pattern!r}")
        for key in ("row_fill_px", "blur_px", "scattered_blur_px"):
            value = getattr(self, key)
            if value < 0 or (value > 0 and value % 2 == 0):
                raise ValueError(f"{key} must be 0 or a positive odd number, got {value}")
        if self.median_px not in (0, 3, 5):
            raise ValueError(f"median_px must be 0, 3 or 5, got {self.median_px}")
        if self.jump_ratio < 1.0 or not 0.0 <= self.jump_blend <= 1.0:
            raise ValueError(f"jump_ratio must be >= 1 and jump_blend in [0, 1], got "
                             f"{self.jump_ratio}, {self.jump_blend}")
        if self.plane_tolerance < 0:
            raise ValueError(f"plane_tolerance must be >= 0, got {self.plane_tolerance}")
        if self.top_margin_px < 0:
            raise ValueError(f"top_margin_px must be >= 0, got {self.top_margin_px}")
        if self.confidence_distance_px <= 0 or self.confidence_spread <= 0:
            raise ValueError("confidence_distance_px and confidence_spread must be > 0")


def fill_rows(inv: Float32Array, width: int, workspace: Workspace | None = None
              ) -> Float32Array:
    """Empty (0) pixels take the largest value within ``width`` pixels of their row.

    Args:
        inv: (H, W) float32 inverse depth (1/metres), 0 = empty.
        workspace: buffers to reuse (None: fresh arrays).

    Returns:
        (H, W) float32, a new array (or ``workspace``'s buffer ``rows_filled``).
    """
    ws = Workspace() if workspace is None else workspace
    out = ws.get("rows_filled", inv.shape, np.float32)
    if width <= 1:
        np.copyto(out, inv)
        return out
    cv2.dilate(inv, np.ones((1, width), np.uint8), dst=out)
    mask = np.greater(inv, np.float32(0.0), out=ws.get("mask", inv.shape, np.bool_))
    kept: Array = cv2.copyTo(inv, mask.view(np.uint8), out)  # measured pixels keep theirs
    return kept


def interpolate_columns(inv: Float32Array, jump_ratio: float = 1.3, jump_blend: float = 0.5,
                        plane_tolerance: float = 0.0, workspace: Workspace | None = None
                        ) -> tuple[Float32Array, Float32Array]:
    """Per-column interpolation of inverse depth between the nearest filled pixels above/below.

    Linear in ``1/d`` (exact on planes); where the two ends differ by more than ``jump_ratio``
    (a depth discontinuity) the value is ``jump_blend`` times that plus ``1 - jump_blend`` times
    the interpolation linear in depth (the mean depth if the edge lies anywhere in the gap),
    unless the gap passes the plane test (:func:`.column_fill.on_plane`).
    Pixels above a column's first filled pixel take its value, pixels below its last one take
    that; all-empty columns stay 0.

    Args:
        inv: (H, W) float32 inverse depth (1/metres), 0 = empty.
        jump_ratio: ratio of the two ends' inverse depths above which the blend applies.
        jump_blend: weight in [0, 1] of the inverse-depth interpolation at discontinuities.
        plane_tolerance: tolerance of the plane test (0 = no test: every jump blends).
        workspace: buffers to reuse (None: fresh arrays); the results are its buffers.

    Returns:
        (interpolated (H, W) float32; vertical distance (H, W) float32, pixels, to the nearest
        filled pixel of the column, meaningless in all-empty columns).
    """
    ws = Workspace() if workspace is None else workspace
    b = column_brackets(inv, ws)
    out = np.subtract(b.below, b.above, out=ws.get("interpolated", inv.shape, np.float32))
    out *= b.t
    out += b.above
    if jump_blend < 1.0:
        blend_discontinuities(out, b, jump_ratio, jump_blend, plane_tolerance, ws)
    return out, b.dist


def blend_discontinuities(out: Float32Array, b: ColumnBrackets, jump_ratio: float,
                          jump_blend: float, plane_tolerance: float = 0.0,
                          workspace: Workspace | None = None) -> None:
    """In place: at discontinuities, mix the inverse-depth interpolation with the depth one.

    Args:
        out: (H, W) float32 inverse-depth interpolation (1/metres), modified.
        b: the column brackets ``out`` was interpolated from.
        jump_ratio, jump_blend, plane_tolerance: see :func:`interpolate_columns`.
        workspace: buffers to reuse (None: fresh arrays).
    """
    ws = Workspace() if workspace is None else workspace
    shape = out.shape
    far: Array = cv2.min(b.above, b.below, dst=ws.get("far", shape, np.float32))
    far *= np.float32(jump_ratio)
    near: Array = cv2.max(b.above, b.below, dst=ws.get("near", shape, np.float32))
    jump = np.flatnonzero(np.greater(near, far, out=ws.get("mask", shape, np.bool_)))
    above, below, t = (np.take(a, jump) for a in (b.above, b.below, b.t))
    if plane_tolerance > 0:
        keep = ~on_plane(b, jump, above, below, plane_tolerance)
        jump, above, below, t = jump[keep], above[keep], below[keep], t[keep]
    mean_depth = above * below / np.maximum((1.0 - t) * below + t * above, np.float32(1e-12))
    flat = out.reshape(-1)
    flat[jump] = np.float32(jump_blend) * flat[jump] + np.float32(1.0 - jump_blend) * mean_depth


def smooth(out: Float32Array, dist: Float32Array, config: ClassicalConfig,
           workspace: Workspace | None = None, dst: Float32Array | None = None
           ) -> Float32Array:
    """Step 4 of the module docstring on the column-interpolated inverse depth ``out``
    (modified: its empty columns are filled first, :func:`.column_fill.fill_empty_columns`).

    Args:
        out: (H, W) float32 interpolated inverse depth, 0 in all-empty columns.
        dist: (H, W) float32 distances of the interpolation (modified with ``out``).
        config: the model's config.
        workspace: buffers to reuse (None: fresh arrays).
        dst: (H, W) float32 contiguous array for the result (None: a workspace buffer).

    Returns:
        (H, W) float32 depth, metres, 0 where no estimate (``dst`` when given).
    """
    ws = Workspace() if workspace is None else workspace
    shape = out.shape
    fill_empty_columns(out, dist)  # so no hole pulls the median / blur towards 0
    if config.median_px:
        median: Array = cv2.medianBlur(out, config.median_px,
                                       dst=ws.get("median", shape, np.float32))
        out = median
    depth = ws.get("depth", shape, np.float32) if config.blur_px or dst is None else dst
    if out.min() > 0:  # every column filled (always, from complete())
        np.divide(np.float32(1.0), out, out=depth)
    else:
        depth.fill(0)
        np.divide(np.float32(1.0), out, out=depth, where=np.greater(
            out, np.float32(0.0), out=ws.get("valid", shape, np.bool_)))
    if config.blur_px:
        blurred: Array = cv2.GaussianBlur(
            depth, (config.blur_px, config.blur_px), 0,
            dst=ws.get("blurred", shape, np.float32) if dst is None else dst)
        depth = blurred
    if dst is not None and depth is not dst:
        raise ValueError("dst must be a contiguous float32 array of the input's shape")
    return depth


def confidence_map(depth: Float32Array, dist: Float32Array, config: ClassicalConfig,
                   workspace: Workspace | None = None, out: Float32Array | None = None, *,
                   positive: bool | None = None) -> Float32Array:
    """Confidence in [0, 1] (formula in the module docstring).

    Args:
        depth: (H, W) float32 completed depth, metres, 0 = no estimate.
        dist: (H, W) float32 pixel distance to the nearest (row-filled) measurement; may be
            used as a buffer (overwritten).
        workspace: buffers to reuse (None: fresh arrays).
        out: (H, W) float32 contiguous array to write the result into (None: a new one).
        positive: whether ``depth`` is > 0 everywhere, when the caller knows (None: checked).

    Returns:
        (H, W) float32 confidence, 0 where ``depth`` is 0 (``out`` when given).
    """
    ws = Workspace() if workspace is None else workspace
    shape = depth.shape
    # -(dist / d0 + spread / s0); spread: max - min over 3x3, over depth
    exponent = ws.get("exponent", shape, np.float32)
    if ring_kernel.ready():  # one compiled pass
        ring_kernel.confidence_exponent(depth, dist, -1.0 / config.confidence_spread,
                                        -1.0 / config.confidence_distance_px, exponent)
    else:  # morphologyEx's gradient in three calls (faster), then one multiply-add
        spread: Array = cv2.dilate(depth, _SPREAD_KERNEL,
                                   dst=ws.get("spread", shape, np.float32))
        cv2.subtract(spread, cv2.erode(depth, _SPREAD_KERNEL,
                                       dst=ws.get("eroded", shape, np.float32)), dst=spread)
        cv2.divide(spread, depth, dst=spread)  # inf / NaN where depth is 0: set to 0 below
        cv2.scaleAdd(spread, -1.0 / config.confidence_spread,
                     np.multiply(dist, np.float32(-1.0 / config.confidence_distance_px),
                                 out=dist), dst=exponent)
    conf: Array = cv2.exp(exponent, dst=np.empty(shape, np.float32) if out is None else out)
    if out is not None and conf is not out:
        raise ValueError("out must be a contiguous float32 array of the depth's shape")
    if not (depth.min() > 0 if positive is None else positive):  # the masked copy if needed
        np.copyto(conf, np.float32(0.0), where=np.less_equal(
            depth, np.float32(0.0), out=ws.get("valid", shape, np.bool_)))
    return conf


def _fill_top(depth: Float32Array, conf: Float32Array, top: int, margin: int) -> None:
    """In place: the ``margin`` rows above ``top`` copy row ``top`` with confidence fading by
    exp(-rows/8); the rows above those get no estimate (NaN depth, confidence 0).

    Args:
        depth, conf: (H, W) float32 outputs, rows ``top:`` already filled.
        top: first row holding a measurement.
        margin: rows above ``top`` that still get the extension.
    """
    start = max(top - margin, 0)
    depth[:start] = np.nan
    conf[:start] = 0.0
    depth[start:top] = depth[top]
    fade = np.exp(-np.arange(top - start, 0, -1, dtype=np.float32) / np.float32(8.0))[:, None]
    np.multiply(conf[top], fade, out=conf[start:top])


def scattered_fill(sub: Float32Array, config: ClassicalConfig, out_conf: Float32Array
                   ) -> Float32Array:
    """The fill of scans without ring structure: nearest measurement, then a
    ``scattered_blur_px`` Gaussian on depth; confidence ``exp(-dist_px / confidence_distance_px)``
    (``dist_px``: L2 pixel distance to the nearest measurement), written into ``out_conf``.

    Returns:
        (H, W) float32 depth, metres (> 0 everywhere: ``sub`` holds a measurement).
    """
    depth, dist = nearest_fill(sub, config.min_depth)
    if config.scattered_blur_px:
        k = config.scattered_blur_px
        depth = np.asarray(cv2.GaussianBlur(depth, (k, k), 0), np.float32)  # float32 already
    np.multiply(dist, np.float32(-1.0 / config.confidence_distance_px), out=dist)
    cv2.exp(dist, dst=out_conf)
    return depth


def top_row(sparse_depth: Float32Array, min_depth: float, block: int = 16) -> int | None:
    """First row holding a value above ``min_depth`` (None if none), scanning blocks of rows
    from the top: a LiDAR leaves the top of the image empty, so most rows are never read
    (:func:`.ring_kernel.top_row`, compiled, when Numba is installed)."""
    if ring_kernel.ready():
        return ring_kernel.top_row(sparse_depth, min_depth)
    for start in range(0, sparse_depth.shape[0], block):
        found = (sparse_depth[start:start + block] > min_depth).any(axis=1)
        if found.any():
            return start + int(np.flatnonzero(found)[0])
    return None


def complete(sparse_depth: Array, config: ClassicalConfig = ClassicalConfig(),
             workspace: Workspace | None = None) -> tuple[Float32Array, Float32Array]:
    """Dense depth and confidence from an (H, W) sparse depth (metres, 0 = none).

    Works on the rows from the top measurement down; above, see :func:`_fill_top`.

    Args:
        sparse_depth: (H, W) metres, 0 = none.
        config: the model's config.
        workspace: buffers reused from call to call (None: fresh ones); the outputs are always
            new arrays.

    Returns:
        (depth (H, W) float32 metres, NaN where no estimate; confidence (H, W) float32 in [0, 1]).
    """
    ws = Workspace() if workspace is None else workspace
    sparse_depth = np.ascontiguousarray(sparse_depth, np.float32)
    top = top_row(sparse_depth, config.min_depth)
    if top is None:
        return np.full(sparse_depth.shape, np.nan, np.float32), np.zeros_like(sparse_depth)
    sub = sparse_depth[top:]
    shape = sub.shape
    compiled = ring_kernel.ready() and not config.plane_tolerance  # plane test: numpy only
    valid = ws.get("valid", shape, np.bool_)
    if compiled:  # inverse depth, mask and row fill in one pass
        filled = ws.get("rows_filled", shape, np.float32)
        measured = ring_kernel.inverse_rows(sub, config.min_depth, config.row_fill_px, filled,
                                            valid, ws.get("measured", shape, np.int64).reshape(-1))
    else:
        inv = ws.zeros("inverse", shape, np.float32)
        measured = np.flatnonzero(np.greater(sub, np.float32(config.min_depth), out=valid))
        inv.reshape(-1)[measured] = np.float32(1.0) / sub.reshape(-1)[measured]  # few % of pixels
    depth, conf = np.empty_like(sparse_depth), np.empty_like(sparse_depth)
    scattered = config.pattern == "scattered" or (config.pattern == "auto" and not
                                                  detect_pattern(valid, measured).rings)
    if scattered:
        np.copyto(depth[top:], scattered_fill(sub, config, out_conf=conf[top:]))
    else:
        if compiled:
            out, dist = ws.get("interpolated", shape, np.float32), ws.get("dist", shape,
                                                                          np.float32)
            ring_kernel.interpolate_columns(filled, config.jump_ratio, config.jump_blend, out,
                                            dist)
        else:
            out, dist = interpolate_columns(fill_rows(inv, config.row_fill_px, ws),
                                            config.jump_ratio, config.jump_blend,
                                            config.plane_tolerance, ws)
        smooth(out, dist, config, ws, dst=depth[top:])
    sub_depth = depth[top:]
    positive = bool(sub_depth.min() > 0)  # False: some pixel without an estimate (0; or NaN)
    if not scattered:
        confidence_map(sub_depth, dist, config, ws, out=conf[top:], positive=positive)
    if not positive:  # no estimate: NaN
        np.copyto(sub_depth, np.float32(np.nan),
                  where=np.less_equal(sub_depth, np.float32(0.0), out=valid))
    if top > 0:
        _fill_top(depth, conf, top, config.top_margin_px)
    return depth, conf


class ClassicalModel(SpecModel):
    """The classical model as a :class:`~depth_completion_ros.models.base.DepthModel`."""

    spec = SPEC

    def __init__(self, config: ClassicalConfig) -> None:
        self.config = config
        ring_kernel.warm_up()  # compiled now, not on the first frame
        self._workspace = Workspace()  # buffers reused across frames (see models/workspace.py)
        self._lock = threading.Lock()  # one frame at a time uses the workspace

    def predict(self, rgb: UInt8Array | None, sparse_depth: FloatArray | None,
                K: Array) -> CompletionOutput:
        """Dense depth (H, W) metres and confidence; see :func:`complete`."""
        sparse_depth = check_completion_inputs(rgb, sparse_depth, K, spec=self.spec)
        start = time.perf_counter()
        with self._lock:
            depth, conf = complete(sparse_depth, self.config, self._workspace)
        return CompletionOutput(depth, conf, {"model": 1e3 * (time.perf_counter() - start)})


register_model(SPEC, factory=learning_free_factory(ClassicalModel), config_cls=ClassicalConfig)
