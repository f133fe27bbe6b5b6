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


def _fields(*spec: tuple[str, int, int]) -> list[SimpleNamespace]:
    return [_field(*s) for s in spec]


XYZ_FIELDS = (("z", 4, 7), ("x", 8, 7), ("y", 16, 7))


@pytest.mark.parametrize("change, match", [
    # numpy raised ValueError on these two (a dead node): names repeat, point_step overflows int
    ({"fields": _fields(*XYZ_FIELDS, ("x", 12, 7))}, r"\['x'\]: the field appears twice"),
    ({"fields": _fields(*XYZ_FIELDS, ("intensity", 0, 7), ("intensity", 12, 7))},
     r"\['intensity'\]: the field appears twice"),
    ({"point_step": 2 ** 31}, r"point_step: 2147483648 is outside \[1, 65536\]"),
    ({"point_step": -24}, "point_step: -24 is outside"),
    ({"fields": [SimpleNamespace(name="x", offset=8, datatype=7, count=3), *_fields(
        ("y", 16, 7), ("z", 4, 7))]}, r"\['x'\].count: 3 is outside \[1, 1\]"),
    ({"fields": _fields(("x", 8, 9), ("y", 16, 7), ("z", 4, 7))}, r"datatype: 9 unknown"),
    ({"fields": _fields(*XYZ_FIELDS, ("ring", 12, 7))}, r"\['ring'\].datatype: 7, expected an int"),
    ({"fields": _fields(("x", 8, 7), ("y", 10, 7), ("z", 4, 7))}, r"\['y'\].offset: 10 overlaps"),
    ({"fields": _fields(("x", -8, 7), ("y", 16, 7), ("z", 4, 7))}, r"offset: -8 is outside"),
    ({"fields": _fields(("x", 8, 7), ("y", 16, 7), ("z", 22, 7))}, "point_step: 24 < field end"),
    ({"fields": None}, "PointCloud2.fields: expected a list of PointField, got None"),
    ({"fields": [SimpleNamespace(name=b"\xff", offset=0, datatype=7, count=1)]}, "not UTF-8"),
    ({"height": -1}, r"height: -1 is outside"),
    ({"width": 2 ** 40}, r"width: 1099511627776 is outside"),
    ({"width": 2 ** 13, "height": 2 ** 13}, "8192x8192 exceeds 33554432 points"),
    ({"row_step": "72"}, r"row_step: expected an integer, got '72' \(str\)"),
    ({"is_bigendian": 2}, "is_bigendian: expected a boolean, got 2"),
    ({"data": [0] * 72}, "PointCloud2.data: expected bytes, got list"),
    ({"data": None}, "PointCloud2.data: expected bytes, got NoneType"),
])
def test_malformed_cloud_fields_raise_input_error_naming_the_field(change, match):
    msg = _cloud(XYZ)
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(InputError, match=match):
        conv.cloud_to_points(msg)


@pytest.mark.parametrize("change, match", [
    ({"width": -5}, r"Image.width: -5 is outside"),
    ({"height": "2"}, r"Image.height: expected an integer, got '2'"),
    ({"height": 2.0}, r"Image.height: expected an integer, got 2.0"),
    ({"step": 2 ** 40}, r"Image.step: 1099511627776 is outside"),
    ({"encoding": None}, "Image.encoding: expected a string, got None"),
    ({"encoding": b"\xff\xfe"}, "Image.encoding: .* is not UTF-8"),
    ({"data": "abc"}, "Image.data: expected bytes, got str"),
    ({"data": np.array([object()] * 20)}, "Image.data: expected bytes, got ndarray"),
    ({"width": 30000, "height": 30000, "step": 90000}, "30000x30000 exceeds 134217728 pixels"),
])
def test_malformed_image_fields_raise_input_error_naming_the_field(change, match):
    msg = _image(RGB, "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(InputError, match=match):
        conv.image_to_rgb(msg)


def _info(**change) -> SimpleNamespace:
    msg = SimpleNamespace(width=4, height=2, k=[2.0, 0, 2, 0, 2, 1, 0, 0, 1], d=[0.0] * 5,
                          r=[1.0, 0, 0, 0, 1, 0, 0, 0, 1], p=[3.0, 0, 2, 0, 0, 3, 1, 0, 0, 0, 1, 0],
                          distortion_model="plumb_bob", binning_x=0, binning_y=0,
                          roi=SimpleNamespace(x_offset=0, y_offset=0, width=0, height=0,
                                              do_rectify=False))
    for key, value in change.items():
        setattr(msg, key, value)
    return msg


NAN = float("nan")


@pytest.mark.parametrize("change, match", [
    ({"k": [2.0, 0, 2, 0, NAN, 1, 0, 0, 1]}, "CameraInfo.k: non-finite value"),
    ({"d": [0.0, NAN, 0, 0, 0]}, "CameraInfo.d: non-finite value"),
    ({"r": [1.0, 0, 0, 0, 1, 0, 0, 0, float("inf")]}, "CameraInfo.r: non-finite value"),
    ({"p": [3.0, 0, 2, 0, 0, 3, 1, 0, 0, 0, 1, NAN]}, "CameraInfo.p: non-finite value"),
    ({"d": [0.0] * 6}, r"CameraInfo.d: expected 0 or 4 or 5 numbers, got shape \(6,\)"),
    ({"k": [1.0] * 8}, r"CameraInfo.k: expected 9 numbers, got shape \(8,\)"),
    ({"r": [1.0] * 10}, r"CameraInfo.r: expected 9 numbers"),
    ({"p": np.eye(3).reshape(-1)}, r"CameraInfo.p: expected 12 numbers"),
    ({"k": "2 0 2 0 2 1 0 0 1"}, "CameraInfo.k: expected numbers"),
    ({"distortion_model": "fisheye"}, "CameraInfo.distortion_model: 'fisheye' is not one of"),
    ({"distortion_model": None}, "CameraInfo.distortion_model: expected a string"),
    ({"distortion_model": "equidistant"}, r"CameraInfo.d: expected 0 or 4 numbers"),
    ({"k": [2.0, 0, 2, 0, 2, 1, 0, 0, 2]}, r"CameraInfo.k: third row \[0.0, 0.0, 2.0\]"),
    ({"p": [3.0, 0, 2, 0, 0, -3, 1, 0, 0, 0, 1, 0]}, "CameraInfo.p: .* no positive focal"),
    ({"binning_x": 2}, r"CameraInfo.binning_x: 2 is outside \[0, 1\]"),
    ({"roi": SimpleNamespace(x_offset=1, y_offset=0, width=2, height=2, do_rectify=True)},
     r"CameraInfo.roi: .* \(1, 0, 2, 2\) is a part of the 4x2 image"),
    ({"width": -1}, r"CameraInfo.width: -1 is outside"),
    ({"height": 2 ** 20}, r"CameraInfo.height: 1048576 is outside"),
])
def test_malformed_camera_info_fields_raise_input_error_naming_the_field(change, match):
    with pytest.raises(InputError, match=match):
        conv.camera_info_to_camera(_info(**change))


def test_full_image_roi_and_binning_one_are_accepted():
    roi = SimpleNamespace(x_offset=0, y_offset=0, width=4, height=2, do_rectify=False)
    assert conv.camera_info_to_camera(_info(roi=roi, binning_x=1, binning_y=1)).width == 4


def _stamped(sec=5, nanosec=0, frame_id="cam2") -> SimpleNamespace:
    return SimpleNamespace(header=SimpleNamespace(
        stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id=frame_id))


@pytest.mark.parametrize("msg, match", [
    (_stamped(nanosec=10 ** 9), r"Image.header.stamp.nanosec: 1000000000 is outside"),
    (_stamped(nanosec=-1), r"Image.header.stamp.nanosec: -1 is outside"),
    (_stamped(sec=-3), r"Image.header.stamp.sec: -3 is outside"),
    (_stamped(sec=1.5), r"Image.header.stamp.sec: expected an integer, got 1.5"),
    (_stamped(frame_id="cam\ufffd"), "Image.header.frame_id: 'cam\ufffd' holds invalid UTF-8"),
    (_stamped(frame_id=b"\xffcam"), "Image.header.frame_id: .* is not UTF-8"),
    (_stamped(frame_id="cam\n2"), "Image.header.frame_id: .* control characters"),
    (_stamped(frame_id="/cam2"), r"Image.header.frame_id: '/cam2' has a space or a leading '/'"),
    (_stamped(frame_id=7), "Image.header.frame_id: expected a string, got 7"),
    (_stamped(frame_id="c" * 2000), "Image.header.frame_id: 2000 characters, at most 1024"),
    (SimpleNamespace(), "Image.header: missing"),
])
def test_odd_headers_raise_input_error_naming_the_field(msg, match):
    with pytest.raises(InputError, match=match):
        conv.check_header(msg, "Image")


def test_headers_give_seconds_and_the_frame_id():
    assert conv.check_header(_stamped(5, 250_000_000, ""), "Image") == (5.25, "")
