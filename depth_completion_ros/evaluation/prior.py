"""The per-pixel median-depth prior: the baseline an RGB-only depth prediction must beat.

A prediction that ignores the image can still learn where depth usually is: the road below
the horizon, far things near it. This prior is that knowledge alone: the per-pixel median of
the depths of a set of frames (the training frames of a model, all LiDAR beams projected on the
scored KITTI crop), NaN-free (a pixel no frame measured takes the nearest value of its column,
else the mean of the prior). Scoring it on unseen frames with the same protocol as the model tells
how much of a model's score comes from the image.

Example:
    >>> import numpy as np
    >>> a = np.array([[0.0, 4.0], [2.0, 0.0]], np.float32)
    >>> b = np.array([[0.0, 6.0], [4.0, 0.0]], np.float32)
    >>> c = np.array([[0.0, 8.0], [9.0, 1.0]], np.float32)
    >>> median_depth_prior([a, b, c]).tolist()
    [[4.0, 6.0], [4.0, 1.0]]
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from depth_completion_ros.arrays import BoolArray, Float32Array, FloatArray
from depth_completion_ros.errors import InputError
from depth_completion_ros.models.column_fill import fill_columns


def median_depth_prior(depths: Iterable[FloatArray]) -> Float32Array:
    """(H, W) float32 metres: per pixel, the median of the valid (finite, > 0) values over
    ``depths`` (each (H, W) metres, 0 or NaN = none); pixels valid in no map take the nearest
    prior value of their column (above first), else the mean of all prior values.

    Raises:
        InputError: no map, maps of different shapes, or no valid value at all.
    """
    stack = [np.asarray(d, np.float32) for d in depths]
    if not stack:
        raise InputError("median depth prior: no depth map given")
    shapes = {d.shape for d in stack}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise InputError(f"median depth prior: maps must share one (H, W) shape, got "
                         f"{sorted(shapes)}")
    cube = np.stack(stack)
    cube = np.where(np.isfinite(cube) & (cube > 0), cube, np.nan)
    valid: BoolArray = np.asarray(np.isfinite(cube).any(axis=0))
    if not valid.any():
        raise InputError("median depth prior: no valid depth in any map")
    prior = np.full(valid.shape, np.nan, np.float32)
    prior[valid] = np.nanmedian(cube[:, valid], axis=0)
    return fill_columns(prior, valid)
