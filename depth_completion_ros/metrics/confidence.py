"""Does a confidence rank the errors? The mean error of the more confident half of the scored
pixels against the rest (the models' cards report it per frame).

Example:
    >>> import numpy as np
    >>> confident_halves(np.array([0.9, 0.1, 0.8, 0.2]), np.array([1.0, 5.0, 2.0, 4.0]))
    (1.5, 4.5)
"""
from __future__ import annotations

import numpy as np

from depth_completion_ros.arrays import Array


def confident_halves(confidence: Array, error: Array) -> tuple[float, float]:
    """(mean ``error`` of the more confident half of the pixels, mean of the rest); ties in
    pixel order; both (N,) arrays of the scored pixels, N >= 2."""
    order = np.argsort(-np.asarray(confidence), kind="stable")
    half = max(1, len(order) // 2)
    err = np.asarray(error, np.float64)
    return float(err[order[:half]].mean()), float(err[order[half:]].mean())
