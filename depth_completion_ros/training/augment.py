"""Augmentations that keep image, depths and intrinsics consistent (numpy, one sample).

Pixel convention of the package: pixel ``u`` covers ``[u, u + 1)`` and a point projects to
``floor(fx * X / Z + cx)``. A crop starting at ``(x0, y0)`` moves the principal point by
``(-x0, -y0)``; a horizontal flip of a W-pixel-wide image maps ``x -> W - x``, so ``cx -> W - cx``
(pixel ``u`` becomes ``W - 1 - u``, exactly the array reversal). Scaling an image by ``(sx, sy)``
maps ``x -> sx * x``: ``K`` is multiplied by ``diag(sx, sy, 1)``, the RGB is resampled, and each
LiDAR pixel ``u`` moves to ``floor(sx * (u + 0.5))`` unchanged in depth (measurements are never
interpolated; with ``sx, sy >= 1`` no two land on one pixel). Colour jitter changes RGB only.

A zoom by ``s`` can be read two ways, both exact for a pinhole camera: the same scene seen with
a focal length ``s`` times longer (``"focal"``: K scaled, depths kept), or the camera's own
focal length looking at the scene moved towards it along the optical axis, each point's ``X``
and ``Y`` kept and ``Z`` divided by ``s`` (``"depth"``: :func:`approach`). The second keeps the
ground plane where it was (a road pixel's depth still follows from its row) while objects
standing on it come closer and larger: a near truck filling half the image, which one open
road never shows.

Example:
    >>> import numpy as np
    >>> K = np.array([[700.0, 0, 600], [0, 700, 180], [0, 0, 1]])
    >>> float(flip_intrinsics(K, 1216)[0, 2]), crop_intrinsics(K, 100, 20)[:2, 2].tolist()
    (616.0, [500.0, 160.0])
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from depth_completion_ros.arrays import Float32Array, Float64Array, UInt8Array

#: how a zoom is read (:func:`augment`): a longer focal length, or the scene moved closer
ZOOMS = ("focal", "depth")

#: ITU-R BT.601 luma weights (saturation jitter blends towards this grey)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Sample:
    """One training sample (numpy; the Preprocessor turns batches of them into network input).

    Attributes:
        rgb: (h, w, 3) uint8 RGB.
        sparse: (h, w) float32 input depth, metres, 0 = none.
        target: (h, w) float32 target depth, metres, 0 = none (held-out rings or ground truth).
        K: (3, 3) float64 intrinsics of this (h, w) image.
        lines: input line count (0 = the source's own sparse input, supervised).
        initial: (h, w) float32 metres, finite: the depth a refinement network starts from
            (D0, another model's output on the whole crop, cut and flipped with the sample);
            None for other networks.
    """

    rgb: UInt8Array
    sparse: Float32Array
    target: Float32Array
    K: Float64Array
    lines: int = 0
    initial: Float32Array | None = None


def crop_intrinsics(K: Float64Array, x0: int, y0: int) -> Float64Array:
    """(3, 3) intrinsics of the image cut at ``(x0, y0)`` (principal point moved)."""
    out = np.array(K, np.float64)
    out[0, 2] -= x0
    out[1, 2] -= y0
    return out


def flip_intrinsics(K: Float64Array, width: int) -> Float64Array:
    """(3, 3) intrinsics of the horizontally mirrored ``width``-pixel image: ``cx -> W - cx``."""
    out = np.array(K, np.float64)
    out[0, 2] = width - out[0, 2]
    return out


def crop(sample: Sample, x0: int, y0: int, width: int, height: int) -> Sample:
    """``sample`` cut to ``width`` x ``height`` pixels at ``(x0, y0)``."""
    window = (slice(y0, y0 + height), slice(x0, x0 + width))
    return replace(sample, rgb=sample.rgb[window], sparse=sample.sparse[window],
                   target=sample.target[window], K=crop_intrinsics(sample.K, x0, y0),
                   initial=None if sample.initial is None else sample.initial[window])


def random_crop(sample: Sample, width: int, height: int, rng: np.random.Generator, *,
                skip_top_rows: int = 0) -> Sample:
    """A ``width`` x ``height`` window at a uniformly drawn position (0 = the full side), its
    top row at ``skip_top_rows`` or below where the height allows."""
    full_h, full_w = sample.sparse.shape
    width, height = min(width or full_w, full_w), min(height or full_h, full_h)
    x0 = int(rng.integers(0, full_w - width + 1))
    y0 = int(rng.integers(min(skip_top_rows, full_h - height), full_h - height + 1))
    return crop(sample, x0, y0, width, height)


def scale_intrinsics(K: Float64Array, sx: float, sy: float) -> Float64Array:
    """(3, 3) intrinsics of the image resized by ``(sx, sy)``: ``diag(sx, sy, 1) @ K``."""
    out: Float64Array = np.diag([sx, sy, 1.0]) @ np.array(K, np.float64)
    return out


def move_points(depth: Float32Array, sx: float, sy: float, width: int,
                height: int) -> Float32Array:
    """(height, width) sparse depth with each measured pixel of ``depth`` moved to
    ``floor(s * (u + 0.5))``, its value kept (no interpolation between measurements)."""
    rows, cols = np.nonzero(depth > 0)
    out = np.zeros((height, width), np.float32)
    out[np.minimum((sy * (rows + 0.5)).astype(np.int64), height - 1),
        np.minimum((sx * (cols + 0.5)).astype(np.int64), width - 1)] = depth[rows, cols]
    return out


def scale(sample: Sample, width: int, height: int) -> Sample:
    """``sample`` resized to ``width`` x ``height`` (at least its size: a zoom in), K with it.

    Raises:
        ValueError: a target size smaller than the sample (points would collide).
    """
    h, w = sample.sparse.shape
    if width < w or height < h:
        raise ValueError(f"scale: {w}x{h} to {width}x{height} shrinks the sample")
    sx, sy = width / w, height / h
    size = (width, height)
    rgb: UInt8Array = np.asarray(cv2.resize(np.ascontiguousarray(sample.rgb), size,
                                            interpolation=cv2.INTER_LINEAR), np.uint8)
    initial: Float32Array | None = None
    if sample.initial is not None:
        initial = np.asarray(cv2.resize(np.ascontiguousarray(sample.initial), size,
                                        interpolation=cv2.INTER_NEAREST), np.float32)
    return replace(sample, rgb=rgb, sparse=move_points(sample.sparse, sx, sy, width, height),
                   target=move_points(sample.target, sx, sy, width, height),
                   K=scale_intrinsics(sample.K, sx, sy), initial=initial)


def approach(sample: Sample, zoom_x: float, zoom_y: float) -> Sample:
    """A sample that :func:`scale` zoomed by ``(zoom_x, zoom_y)``, re-read as the original
    focal length seeing the scene ``s`` times closer along the optical axis: focal lengths
    divided by ``s`` and every depth (input, target, D0) divided by ``s``, the principal point
    kept, with ``s = sqrt(zoom_x * zoom_y)`` (the two differ by a pixel's rounding).

    A point ``(X, Y, Z)`` that projected to ``u = fx * s * X / Z + cx`` keeps that pixel:
    ``fx * X / (Z / s) + cx`` is the same number.
    """
    s = float(np.sqrt(zoom_x * zoom_y))
    K = np.array(sample.K, np.float64)
    K[0, 0] /= s
    K[1, 1] /= s
    return replace(sample, sparse=sample.sparse / np.float32(s),
                   target=sample.target / np.float32(s), K=K,
                   initial=None if sample.initial is None
                   else sample.initial / np.float32(s))


def flip(sample: Sample) -> Sample:
    """``sample`` mirrored left-right, its principal point with it."""
    return replace(sample, rgb=sample.rgb[:, ::-1], sparse=sample.sparse[:, ::-1],
                   target=sample.target[:, ::-1],
                   K=flip_intrinsics(sample.K, sample.sparse.shape[1]),
                   initial=None if sample.initial is None else sample.initial[:, ::-1])


def jitter_colour(rgb: UInt8Array, brightness: float, contrast: float,
                  saturation: float) -> UInt8Array:
    """(h, w, 3) uint8 RGB scaled in brightness, contrast (about the mean) and saturation
    (about the grey of :data:`LUMA`), clipped to 0..255."""
    image = rgb.astype(np.float32) * brightness
    image = (image - image.mean()) * contrast + image.mean()
    grey = (image @ LUMA)[..., None]
    image = grey + (image - grey) * saturation
    out: UInt8Array = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return out


def augment(sample: Sample, *, width: int, height: int, flip_probability: float,
            colour_jitter: float, rng: np.random.Generator, skip_top_rows: int = 0,
            scale_max: float = 1.0, zoom: str = "focal") -> Sample:
    """Random crop (:func:`random_crop`), flip with ``flip_probability``, colour jitter of
    strength ``colour_jitter`` (factors uniform in ``[1 - j, 1 + j]``), drawn from ``rng`` in
    that order. With ``scale_max`` > 1 a zoom factor ``s`` uniform in ``[1, scale_max]`` is
    drawn first: the crop is ``1 / s`` of the patch size, then resized to it (:func:`scale`),
    read as a longer focal length (``zoom="focal"``) or as the scene ``s`` times closer
    (``zoom="depth"``, :func:`approach`)."""
    if zoom not in ZOOMS:
        raise ValueError(f"augment: zoom must be one of {ZOOMS}, got {zoom!r}")
    if scale_max > 1.0:
        factor = float(rng.uniform(1.0, scale_max))
        full_h, full_w = sample.sparse.shape
        out_w, out_h = min(width or full_w, full_w), min(height or full_h, full_h)
        window_w, window_h = max(1, round(out_w / factor)), max(1, round(out_h / factor))
        sample = random_crop(sample, window_w, window_h, rng,
                             skip_top_rows=skip_top_rows)
        sample = scale(sample, out_w, out_h)
        if zoom == "depth":
            sample = approach(sample, out_w / window_w, out_h / window_h)
    else:
        sample = random_crop(sample, width, height, rng, skip_top_rows=skip_top_rows)
    if rng.random() < flip_probability:
        sample = flip(sample)
    if colour_jitter > 0:
        factors = rng.uniform(1 - colour_jitter, 1 + colour_jitter, 3)
        sample = replace(sample, rgb=jitter_colour(sample.rgb, *map(float, factors)))
    return sample


def contiguous(sample: Sample) -> Sample:
    """Copies of the views (flips and crops make strided views) that torch can wrap."""
    return replace(sample, rgb=np.ascontiguousarray(sample.rgb),
                   sparse=np.ascontiguousarray(sample.sparse, np.float32),
                   target=np.ascontiguousarray(sample.target, np.float32),
                   initial=None if sample.initial is None
                   else np.ascontiguousarray(sample.initial, np.float32))

