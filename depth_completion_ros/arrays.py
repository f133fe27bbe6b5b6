"""Array type aliases for annotations (numpy's ``NDArray`` with the package's usual dtypes).

Shapes and units stay in the docstrings (``(H, W) float32 metres``); these aliases give mypy the
dtype where the code fixes it, and :data:`Array` where a function takes any numeric array.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

#: any dtype (inputs converted inside with ``np.asarray(..., dtype=...)``)
Array = NDArray[Any]
#: float arrays of a fixed precision: depths (float32, metres), matrices (float64)
Float32Array = NDArray[np.float32]
Float64Array = NDArray[np.float64]
#: any floating dtype
FloatArray = NDArray[np.floating[Any]]
#: images (uint8 RGB / BGR), KITTI 16-bit depth PNGs (uint16)
UInt8Array = NDArray[np.uint8]
UInt16Array = NDArray[np.uint16]
#: indices and ring numbers
IntArray = NDArray[np.integer[Any]]
#: masks
BoolArray = NDArray[np.bool_]

__all__ = ["Array", "BoolArray", "Float32Array", "Float64Array", "FloatArray", "IntArray",
           "UInt16Array", "UInt8Array"]
