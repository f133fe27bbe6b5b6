"""The per-pixel median-depth prior."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.prior import median_depth_prior


def test_median_over_valid_values_and_holes_filled_from_the_column():
    maps = [np.array([[np.nan, 0.0, 3.0], [1.0, 0.0, 0.0]], np.float32),
            np.array([[0.0, 0.0, 5.0], [3.0, 0.0, 0.0]], np.float32),
            np.array([[0.0, 0.0, 4.0], [2.0, 0.0, 0.0]], np.float32)]
    prior = median_depth_prior(maps)
    assert prior[0, 2] == 4.0 and prior[1, 0] == 2.0
    assert prior[0, 0] == 2.0 and prior[1, 2] == 4.0   # nearest in the column
    assert prior[0, 1] == prior[1, 1] == pytest.approx(3.0)  # mean of the prior's values
    assert prior.dtype == np.float32 and np.isfinite(prior).all()


@pytest.mark.parametrize("maps", [[], [np.zeros((2, 2))], [np.ones((2, 2)), np.ones((3, 2))]])
def test_bad_input_is_refused(maps):
    with pytest.raises(InputError, match="median depth prior"):
        median_depth_prior(maps)
