"""The evaluation's LiDAR -> camera transform: a given matrix is checked by the one rigid rule."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.bag.topics import kitti_topics
from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.calibration import resolve_lidar_to_camera


def test_a_given_matrix_is_returned_as_a_4x4_transform() -> None:
    T = np.eye(4)
    T[:3, 3] = [0.1, -0.2, 0.3]
    got = resolve_lidar_to_camera(Path("unused.bag"), kitti_topics(2),
                                  matrix=tuple(T.reshape(-1)))
    np.testing.assert_array_equal(got, T)


@pytest.mark.parametrize("matrix, needle", [
    ((1.0,) * 12, "expected 16 numbers"),
    (tuple(np.diag([1.0, 1.0, 1.0, 2.0]).reshape(-1)), "last row"),
    (tuple(np.diag([3.0, 1.0, 1.0, 1.0]).reshape(-1)), "rotation"),  # a P matrix pasted by mistake
])
def test_a_matrix_that_is_not_rigid_is_refused_with_the_rule(matrix: tuple[float, ...],
                                                             needle: str) -> None:
    with pytest.raises(InputError, match=f"--lidar-to-camera: .*{needle}"):
        resolve_lidar_to_camera(Path("unused.bag"), kitti_topics(2), matrix=matrix)
