"""KITTI 16-bit depth PNGs: ``value / 256`` = metres, 0 = no value."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, UInt16Array
from depth_completion_ros.errors import DataFormatError, InputError

#: Largest depth a KITTI depth PNG can hold, metres.
MAX_PNG_DEPTH = 65535 / 256.0


def depth_to_uint16(depth: Array) -> UInt16Array:
    """Encode (H, W) metres as KITTI uint16: ``round(depth * 256)``, clipped to [1, 65535].

    NaN, inf and depths <= 0 become 0 (no value); a positive depth never rounds to 0.

    Example:
        >>> depth_to_uint16(np.array([[1.0, 0.0, np.nan, 300.0]])).tolist()
        [[256, 0, 0, 65535]]
    """
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise InputError(f"depth: expected an (H, W) image, got shape {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    scaled = np.clip(np.round(np.where(valid, depth, 0) * 256.0), 1, 65535)
    return np.where(valid, scaled, 0).astype(np.uint16)


def uint16_to_depth(encoded: Array) -> Float32Array:
    """Decode KITTI uint16 to (H, W) float32 metres (0 stays 0 = no value)."""
    return (np.asarray(encoded, dtype=np.float32) / 256.0).astype(np.float32)


def read_depth_png(path: str | Path) -> Float32Array:
    """Read a KITTI depth PNG as (H, W) float32 metres, 0 = no value.

    Raises:
        DataFormatError: Missing or undecodable file, or not a single-channel 16-bit PNG.
    """
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataFormatError(f"{path}: cannot read depth PNG (missing or not an image)")
    if image.dtype != np.uint16 or image.ndim != 2:
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise DataFormatError(f"{path}: depth PNG must be 1-channel 16-bit, got {channels}-channel "
                              f"{image.dtype}")
    return uint16_to_depth(image)


def write_depth_png(path: str | Path, depth: Array) -> None:
    """Write (H, W) metres as a KITTI 16-bit PNG (see :func:`depth_to_uint16`); makes parents.

    Raises:
        DataFormatError: The file cannot be written.
    """
    path = Path(path)
    encoded = depth_to_uint16(depth)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), encoded):
        raise DataFormatError(f"{path}: cannot write depth PNG")
