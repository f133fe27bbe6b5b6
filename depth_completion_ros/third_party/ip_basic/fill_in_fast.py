"""IP-Basic's ``fill_in_fast`` as the authors run it, for the benchmark's reference ratio only.

J. Ku, A. Harakeh, S. L. Waslander, "In Defense of Classical Image Processing: Fast Depth
Completion on the CPU", CRV 2018; code at github.com/kujason/ip_basic
(``ip_basic/depth_map_utils.py``), MIT License, Copyright (c) 2018 Jason Ku: the license text is
in ``LICENSE`` next to this file and applies to this recipe.

Unlike :mod:`depth_completion_ros.models.ip_basic` (the registry's port: it copies its input
and extends columns without a Python loop), this module keeps the authors' execution style so
that its time is the authors' code's time: it works **in place** on the caller's array, selects
pixels with boolean masks, and extends each column's top value upwards with a per-column Python
loop. Steps, kernels and thresholds are the authors':

1. invert valid pixels (> 0.1 m): ``max_depth - d``;
2. dilate with a 5x5 diamond; close with a 5x5 full kernel;
3. empty pixels (< 0.1) take a 7x7 full dilation;
4. (``extrapolate``) each column's top valid value copied up to row 0, then empty pixels take a
   31x31 full dilation;
5. 5x5 median; then a 5x5 Gaussian on valid pixels (``blur_type="gaussian"``) or a bilateral
   filter (d=5, sigma colour 1.5, sigma space 2.0; ``"bilateral"``, the authors' default);
6. invert valid pixels back.

Pixels left empty are 0 in the output.
"""
from __future__ import annotations

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array

FULL_KERNEL_5 = np.ones((5, 5), np.uint8)
FULL_KERNEL_7 = np.ones((7, 7), np.uint8)
FULL_KERNEL_31 = np.ones((31, 31), np.uint8)
#: 5x5 diamond, |dx| + |dy| <= 2 (the authors' default first dilation)
DIAMOND_KERNEL_5 = (np.add.outer(np.abs(np.arange(-2, 3)), np.abs(np.arange(-2, 3))) <= 2
                    ).astype(np.uint8)


def fill_in_fast(sparse_map: Float32Array, max_depth: float = 100.0,
                 custom_kernel: Array = DIAMOND_KERNEL_5, extrapolate: bool = False,
                 blur_type: str = "bilateral") -> Float32Array:
    """Dense depth from an (H, W) float32 sparse depth (metres, 0 = none); **modifies its input**.

    Args:
        sparse_map: (H, W) float32 metres; overwritten (the authors' in-place contract).
        max_depth: inversion offset, metres.
        custom_kernel: first dilation's kernel.
        extrapolate: extend each column's top value to row 0, then a 31x31 dilation.
        blur_type: "bilateral" (the authors' default) or "gaussian" (lower RMSE).

    Returns:
        (H, W) float32 metres, 0 where nothing was filled.
    """
    depth_map: Array = sparse_map  # the authors' name, untyped by OpenCV from here on
    valid = depth_map > 0.1
    depth_map[valid] = max_depth - depth_map[valid]
    depth_map = cv2.dilate(depth_map, custom_kernel)
    depth_map = cv2.morphologyEx(depth_map, cv2.MORPH_CLOSE, FULL_KERNEL_5)
    empty = depth_map < 0.1
    depth_map[empty] = cv2.dilate(depth_map, FULL_KERNEL_7)[empty]
    if extrapolate:
        top_rows = np.argmax(depth_map > 0.1, axis=0)
        top_values = depth_map[top_rows, range(depth_map.shape[1])]
        for col in range(depth_map.shape[1]):  # the authors' per-column loop, kept on purpose
            depth_map[0:top_rows[col], col] = top_values[col]
        empty = depth_map < 0.1
        depth_map[empty] = cv2.dilate(depth_map, FULL_KERNEL_31)[empty]
    depth_map = cv2.medianBlur(depth_map, 5)
    if blur_type == "bilateral":
        depth_map = cv2.bilateralFilter(depth_map, 5, 1.5, 2.0)
    elif blur_type == "gaussian":
        valid = depth_map > 0.1
        depth_map[valid] = cv2.GaussianBlur(depth_map, (5, 5), 0)[valid]
    valid = depth_map > 0.1
    depth_map[valid] = max_depth - depth_map[valid]
    result: Float32Array = np.asarray(depth_map, np.float32)  # float32 already: no copy
    return result
