"""Message <-> numpy conversions on duck-typed, rosbags-style and real sensor_msgs messages."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from depth_completion_ros import decoding as conv
from depth_completion_ros.errors import InputError
from depth_completion_ros.ros import encoding

RGB = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # (H=2, W=3) hand-made pixels


def _image(pixels: np.ndarray, encoding: str, pad: int = 0) -> SimpleNamespace:
    """An Image-like message holding ``pixels`` with ``pad`` junk bytes after each row."""
    rows = pixels.reshape(pixels.shape[0], -1)
    padded = np.concatenate([rows, np.full((rows.shape[0], pad), 255, np.uint8)], axis=1)
    return SimpleNamespace(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                           is_bigendian=0, step=padded.shape[1], data=padded.tobytes())


@pytest.mark.parametrize("encoding, make", [
    ("rgb8", lambda p: p),
    ("bgr8", lambda p: p[:, :, ::-1]),
    ("rgba8", lambda p: np.dstack([p, np.full(p.shape[:2], 7, np.uint8)])),
    ("bgra8", lambda p: np.dstack([p[:, :, ::-1], np.full(p.shape[:2], 7, np.uint8)])),
])
@pytest.mark.parametrize("pad", [0, 5])
def test_colour_encodings_decode_to_rgb(encoding, make, pad):
    out = conv.image_to_rgb(_image(make(RGB), encoding, pad))
    np.testing.assert_array_equal(out, RGB)


def test_mono8_is_replicated_into_three_channels():
    mono = np.array([[0, 10, 20], [30, 40, 250]], np.uint8)
    out = conv.image_to_rgb(_image(mono[:, :, None], "mono8", pad=3))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[:, :, 1], mono)
    np.testing.assert_array_equal(out[:, :, 0], out[:, :, 2])


def test_rgb8_is_a_zero_copy_view_of_a_rosbags_style_ndarray_buffer():
    msg = _image(RGB, "rgb8")
    msg.data = np.frombuffer(msg.data, np.uint8).copy()  # rosbags gives uint8 ndarrays
    out = conv.image_to_rgb(msg)
    assert np.shares_memory(out, msg.data)
    np.testing.assert_array_equal(out, RGB)


@pytest.mark.parametrize("change, match", [
    ({"encoding": "16UC1"}, "encoding"),
    ({"encoding": "yuv422"}, "encoding"),
    ({"step": 8}, "step"),
    ({"data": bytes(10)}, "truncated"),
    ({"height": 0}, "empty"),
])
def test_bad_images_raise_input_error_naming_the_field(change, match):
    msg = _image(RGB, "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(InputError, match=match):
        conv.image_to_rgb(msg)


def _field(name: str, offset: int, datatype: int) -> SimpleNamespace:
    return SimpleNamespace(name=name, offset=offset, datatype=datatype, count=1)


XYZ = np.array([[1.0, 2.0, 3.0], [-4.5, 0.25, 10.0], [7.0, -8.0, 0.5]], np.float32)


def _cloud(xyz: np.ndarray, *, bigendian: bool = False, height: int = 1, row_pad: int = 0,
           ring: np.ndarray | None = None) -> SimpleNamespace:
    """PointCloud2-like message: 4 junk bytes, then z, x, ring (u2), y at unusual offsets."""
    order = ">" if bigendian else "<"
    dtype = np.dtype({"names": ["z", "x", "ring", "y"],
                      "formats": [order + "f4", order + "f4", order + "u2", order + "f4"],
                      "offsets": [4, 8, 12, 16], "itemsize": 24})
    pts = np.zeros(xyz.shape[0], dtype)
    pts["x"], pts["y"], pts["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    pts["ring"] = ring if ring is not None else 0
    width = xyz.shape[0] // height
    rows = pts.view(np.uint8).reshape(height, width * 24)
    rows = np.concatenate([rows, np.zeros((height, row_pad), np.uint8)], axis=1)
    fields = [_field("z", 4, 7), _field("x", 8, 7), _field("ring", 12, 4), _field("y", 16, 7)]
    return SimpleNamespace(height=height, width=width, fields=fields, is_bigendian=bigendian,
                           point_step=24, row_step=rows.shape[1], data=rows.tobytes(),
                           is_dense=True)


@pytest.mark.parametrize("bigendian", [False, True])
def test_cloud_fields_at_any_offsets_and_either_endianness(bigendian):
    ring = np.array([5, 0, 63], np.uint16)
    cloud = conv.cloud_to_points(_cloud(XYZ, bigendian=bigendian, ring=ring))
    np.testing.assert_array_equal(cloud.xyz, XYZ)
    np.testing.assert_array_equal(cloud.ring, [5, 0, 63])
    assert cloud.intensity is None


def test_organised_cloud_with_row_padding_and_nans_drops_the_nans():
    xyz = np.vstack([XYZ, [[np.nan, 1, 1], [2, np.inf, 2], [3, 3, 3]]]).astype(np.float32)
    cloud = conv.cloud_to_points(_cloud(xyz, height=2, row_pad=8))
    np.testing.assert_array_equal(cloud.xyz, np.vstack([XYZ, [[3, 3, 3]]]))


@pytest.mark.parametrize("change, match", [
    ({"data": bytes(30)}, "truncated"),
    ({"fields": [_field("x", 8, 7), _field("y", 16, 7)]}, "no \\['z'\\]"),
    ({"fields": [_field("x", 8, 7), _field("y", 16, 7), _field("z", 4, 5)]}, "FLOAT32"),
    ({"point_step": 16}, "point_step"),
    ({"width": 0, "data": b"", "row_step": 0}, "empty"),
])
def test_bad_clouds_raise_input_error(change, match):
    msg = _cloud(XYZ)
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(InputError, match=match):
        conv.cloud_to_points(msg)


def test_all_nan_cloud_is_rejected():
    with pytest.raises(InputError, match="finite"):
        conv.cloud_to_points(_cloud(np.full((2, 3), np.nan, np.float32)))


def test_camera_info_with_zero_k_is_rejected():
    msg = SimpleNamespace(width=3, height=2, k=[0.0] * 9, d=[], r=[1, 0, 0, 0, 1, 0, 0, 0, 1],
                          p=[0.0] * 12, distortion_model="plumb_bob")
    with pytest.raises(InputError, match="CameraInfo.k"):
        conv.camera_info_fields(msg)


def test_camera_info_to_camera_reads_p_and_k():
    msg = SimpleNamespace(width=4, height=2, k=[2.0, 0, 2, 0, 2, 1, 0, 0, 1], d=[0.0] * 5,
                          r=[1.0, 0, 0, 0, 1, 0, 0, 0, 1], p=[3.0, 0, 2, 0, 0, 3, 1, 0, 0, 0, 1, 0],
                          distortion_model="plumb_bob")
    cam = conv.camera_info_to_camera(msg)
    assert (cam.width, cam.height) == (4, 2)
    assert cam.intrinsics(rectified=True)[0, 0] == 3.0
    assert cam.intrinsics(rectified=False)[0, 0] == 2.0
    msg.distortion_model = "fisheye42"
    with pytest.raises(InputError, match="distortion_model"):
        conv.camera_info_to_camera(msg)


def test_real_messages_round_trip():
    from std_msgs.msg import Header
    header = Header(frame_id="cam")
    depth = np.array([[1.5, np.nan], [80.25, 0.001]], np.float32)
    msg = encoding.array_to_image(depth, header, "32FC1")
    assert (msg.encoding, msg.step, msg.header.frame_id) == ("32FC1", 8, "cam")
    np.testing.assert_array_equal(np.frombuffer(msg.data, np.float32).reshape(2, 2), depth)
    mm = encoding.array_to_image(conv.depth_to_mm(depth), header, "16UC1")
    np.testing.assert_array_equal(np.frombuffer(mm.data, np.uint16), [1500, 0, 65535, 1])
    cloud = encoding.points_to_cloud(XYZ, header)
    np.testing.assert_array_equal(conv.cloud_to_points(cloud).xyz, XYZ)
    image = encoding.array_to_image(RGB, header, "rgb8")
    np.testing.assert_array_equal(conv.image_to_rgb(image), RGB)
