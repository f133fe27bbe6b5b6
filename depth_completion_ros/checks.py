"""Named checks of the package's inputs, one per kind, each raising :class:`InputError`.

Every public boundary (pipeline, projection, models, node parameters, evaluation options) checks
its inputs with these, so a rigid transform, an image, a cloud or a depth range is judged by one
rule everywhere, and the message says what was expected and what was given (in the spirit of
kornia's ``KORNIA_CHECK_SHAPE``).

Example:
    >>> check_depth_range(0.1, 80.0)
    (0.1, 80.0)
    >>> check_rigid_transform(np.eye(4)).shape
    (4, 4)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from depth_completion_ros.arrays import Array, Float64Array
from depth_completion_ros.errors import InputError

#: Largest deviation of R @ R.T from the identity (and of det R from 1) a rigid transform may
#: have: calibration files print rotations with 6-10 significant digits.
ROTATION_TOLERANCE = 1e-3


def check_rigid_transform(matrix: Any, name: str = "lidar_to_camera") -> Float64Array:
    """A 4x4 rigid transform (rotation + translation, metres) as float64.

    Args:
        matrix: 16 numbers (row-major) or a (4, 4) array.
        name: what the value is, for the message.

    Returns:
        (4, 4) float64.

    Raises:
        InputError: not 16 finite numbers, last row not ``0 0 0 1``, or the upper-left 3x3 not a
            rotation (orthonormal with determinant +1 within :data:`ROTATION_TOLERANCE`).
    """
    try:
        values = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: expected 16 numbers (a 4x4 rigid transform), got "
                         f"{matrix!r}") from err
    if values.size != 16 or values.ndim not in (1, 2) or \
            (values.ndim == 2 and values.shape != (4, 4)):
        raise InputError(f"{name}: expected 16 numbers (a 4x4 rigid transform), got shape "
                         f"{values.shape}")
    m = values.reshape(4, 4)
    if not np.isfinite(m).all():
        raise InputError(f"{name}: expected finite numbers, got {m.tolist()}")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
        raise InputError(f"{name}: expected last row [0, 0, 0, 1], got {m[3].tolist()}")
    rotation = m[:3, :3]
    error = float(np.abs(rotation @ rotation.T - np.eye(3)).max())
    if error > ROTATION_TOLERANCE or abs(float(np.linalg.det(rotation)) - 1.0) > \
            ROTATION_TOLERANCE:
        raise InputError(f"{name}: expected a rotation in the upper-left 3x3 (R R^T = I, "
                         f"det R = 1), got {rotation.tolist()} (|R R^T - I| = {error:.3g}, "
                         f"det = {np.linalg.det(rotation):.6g})")
    return m


def check_image(rgb: Any, name: str = "rgb", size: tuple[int, int] | None = None
                ) -> tuple[int, int]:
    """Check an (H, W, 3) uint8 RGB image; returns (H, W).

    Args:
        rgb: the image.
        name: what the value is, for the message.
        size: (width, height) it must have (a camera's), or None.

    Raises:
        InputError: not an (H, W, 3) uint8 array, or of another size than ``size``.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
            or rgb.shape[2] != 3:
        raise InputError(f"{name}: expected (H, W, 3) uint8, got "
                         f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', type(rgb))}")
    if size is not None and (rgb.shape[1], rgb.shape[0]) != tuple(size):
        raise InputError(f"{name}: expected {size[0]}x{size[1]} (camera_info), got "
                         f"{rgb.shape[1]}x{rgb.shape[0]}")
    return int(rgb.shape[0]), int(rgb.shape[1])


def check_points(points: Any, name: str = "points") -> Array:
    """The (N, 3) x, y, z view of an (N, >=3) numeric cloud (metres).

    Raises:
        InputError: not a 2-D numeric array with at least 3 columns.
    """
    array = np.asarray(points)
    if array.ndim != 2 or array.shape[1] < 3:
        raise InputError(f"{name}: expected an (N, >=3) array of x, y, z, got shape "
                         f"{array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    return array[:, :3]


def check_depth_range(min_depth: float, max_depth: float, name: str = "depth range"
                      ) -> tuple[float, float]:
    """A depth range in metres, ``0 <= min_depth < max_depth < inf``.

    Raises:
        InputError: the bounds are not finite numbers in that order.
    """
    try:
        low, high = float(min_depth), float(max_depth)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: expected two numbers (metres), got "
                         f"[{min_depth!r}, {max_depth!r}]") from err
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low < high):
        raise InputError(f"{name}: expected 0 <= min_depth < max_depth (finite metres), got "
                         f"[{low}, {high}]")
    return low, high
