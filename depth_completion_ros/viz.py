"""Colour maps for depth / confidence / error images and LiDAR-over-image overlays (OpenCV LUTs).

Every function returns a new (H, W, 3) uint8 image, RGB unless ``rgb=False`` (then BGR, for
``cv2.imwrite``). Values map linearly from ``[vmin, vmax]`` onto the colour map (clipped); NaN
(and, with ``zero_is_invalid``, 0) shows black.
"""
from __future__ import annotations

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, IntArray, UInt8Array
from depth_completion_ros.errors import InputError


def colormap_lut(colormap: int = cv2.COLORMAP_TURBO) -> UInt8Array:
    """(256, 3) uint8 RGB colours of an OpenCV colour map (index 0 = ``vmin``)."""
    bgr: Array = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], colormap)  # uint8
    return bgr[:, 0, ::-1].copy()


def _indices(values: Array, vmin: float, vmax: float) -> UInt8Array:
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmax > vmin):
        raise InputError(f"colour range: need finite vmin < vmax, got ({vmin}, {vmax})")
    scaled = (np.nan_to_num(values, nan=vmin) - vmin) * (255.0 / (vmax - vmin))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def colorize(image: Array, vmin: float, vmax: float, *, colormap: int = cv2.COLORMAP_TURBO,
             zero_is_invalid: bool = False, rgb: bool = True) -> UInt8Array:
    """Colour-map an (H, W) depth (metres), confidence or error image with a fixed range.

    Example:
        >>> out = colorize(np.array([[0.0, np.nan, 10.0]]), 0.0, 10.0)
        >>> out[0, 1].tolist(), out[0, 0].tolist() == colormap_lut()[0].tolist()
        ([0, 0, 0], True)
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise InputError(f"image: expected an (H, W) array, got shape {image.shape}")
    out = colormap_lut(colormap)[_indices(image, vmin, vmax)]
    invalid = ~np.isfinite(image) if not zero_is_invalid else ~np.isfinite(image) | (image == 0)
    out[invalid] = 0
    return out if rgb else np.ascontiguousarray(out[..., ::-1])


def colorize_depth(depth: Array, min_depth: float, max_depth: float, *,
                   colormap: int = cv2.COLORMAP_TURBO) -> UInt8Array:
    """(H, W) metres -> (H, W, 3) uint8 BGR over a fixed range: near warm, far cool, NaN black.

    A fixed range (not per-frame min / max) keeps colours comparable across frames; this is the
    node's ``depth_color`` output.
    """
    depth = np.asarray(depth, dtype=np.float64)
    return colorize(min_depth + max_depth - depth, min_depth, max_depth, colormap=colormap,
                    rgb=False)


def overlay_points(rgb: UInt8Array, u: IntArray, v: IntArray, depth: Array, *,
                   vmin: float = 0.0, vmax: float = 80.0, radius: int = 1,
                   colormap: int = cv2.COLORMAP_TURBO) -> UInt8Array:
    """Draw projected LiDAR points as coloured squares of side ``2 * radius + 1`` on a copy.

    Args:
        rgb: (H, W, 3) uint8 image.
        u: (M,) pixel columns; v: (M,) pixel rows (as from ``project_points``).
        depth: (M,) depths in metres, coloured over ``[vmin, vmax]``; nearer points drawn on top.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"rgb: expected (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    if not len(u) == len(v) == len(depth):
        raise InputError(f"u, v, depth: lengths differ ({len(u)}, {len(v)}, {len(depth)})")
    out = rgb.copy()
    order = np.argsort(depth)[::-1]
    u, v = np.asarray(u)[order], np.asarray(v)[order]
    colours = colormap_lut(colormap)[_indices(np.asarray(depth)[order], vmin, vmax)]
    h, w = out.shape[:2]
    for dv in range(-radius, radius + 1):
        for du in range(-radius, radius + 1):
            uu, vv = u + du, v + dv
            ok = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
            out[vv[ok], uu[ok]] = colours[ok]
    return out
