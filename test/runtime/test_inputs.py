"""CameraCache: the first frame waits (bounded) for the camera_info that travels with it."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from depth_completion_ros.bag.messages import rectified_camera_info
from depth_completion_ros.errors import InputError
from depth_completion_ros.runtime.inputs import CameraCache

K = np.array([[721.5, 0.0, 609.6], [0.0, 721.5, 172.9], [0.0, 0.0, 1.0]])


def _info(fx: float = 721.5):
    k = K.copy()
    k[0, 0] = fx
    return rectified_camera_info(1242, 375, k, 0, "camera")


def test_the_first_camera_info_is_waited_for_when_it_comes_from_another_thread() -> None:
    cache = CameraCache()
    late = threading.Timer(0.05, cache.update, args=(_info(),))
    late.start()
    start = time.monotonic()
    _, camera = cache.current(wait_s=5.0)
    waited = time.monotonic() - start
    late.join()
    assert camera.intrinsics()[0, 0] == pytest.approx(721.5)
    assert waited < 4.0  # released by the update, not by the bound


def test_no_camera_info_is_an_input_error_after_the_bound_and_at_once_without_one() -> None:
    cache = CameraCache()
    start = time.monotonic()
    with pytest.raises(InputError, match=r"no valid CameraInfo received yet \(waited 0.2 s\)"):
        cache.current(wait_s=0.2)
    assert time.monotonic() - start >= 0.19
    with pytest.raises(InputError, match="no valid CameraInfo received yet$"):
        cache.current()
    assert cache.camera_or_none() is None


def test_a_kept_camera_is_returned_without_waiting_and_a_new_one_replaces_it() -> None:
    cache = CameraCache()
    cache.update(_info())
    cache.update(_info(700.0))
    _, camera = cache.current(wait_s=60.0)  # would hang the test if it waited
    assert camera.intrinsics()[0, 0] == pytest.approx(700.0)
    with pytest.raises(InputError):
        cache.update(_info(0.0))  # zero focal length: refused, the kept camera stays
    assert cache.camera_or_none().intrinsics()[0, 0] == pytest.approx(700.0)
