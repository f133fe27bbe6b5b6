"""The vendored authors' ``fill_in_fast`` (benchmark reference) computes what the registry's
``ip_basic`` port computes, on the embedded sample frame, for both blur types."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.models.ip_basic import IpBasicConfig
from depth_completion_ros.models.ip_basic import fill_in_fast as port
from depth_completion_ros.third_party.ip_basic.fill_in_fast import fill_in_fast as authors


@pytest.mark.parametrize("blur", ["gaussian", "bilateral"])
def test_reference_equals_the_registry_port(sample_frame, blur):
    sparse = sample_frame.sparse
    expected = port(sparse, IpBasicConfig(extrapolate=True, blur=blur))
    got = authors(sparse.copy(), extrapolate=True, blur_type=blur)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    assert np.count_nonzero(got) == np.count_nonzero(expected) > sparse.size // 2


def test_reference_works_in_place_like_the_authors(sample_frame):
    sparse = sample_frame.sparse.copy()
    authors(sparse, extrapolate=False)
    assert not np.array_equal(sparse, sample_frame.sparse)  # the caller's array was consumed
