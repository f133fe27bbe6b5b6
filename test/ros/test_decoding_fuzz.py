"""Fuzz: random byte strings, random field values and random PointField tables thrown at every
decoder (core and the compat seam); only InputError may come out, and what comes back is valid.

Seeded, so a failure replays: the case index and seed are in the assertion message.
"""
from __future__ import annotations

import array
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from depth_completion_ros import decoding as conv
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.message_fields import shown
from depth_completion_ros.ros import compat

CASES = 1500  # per decoder; a few seconds in all


class Hostile:
    """A value with no fields whose every other use fails in a way numpy or Python would not
    call an input error."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)

    def __len__(self) -> int:
        raise OverflowError("len")

    def __iter__(self) -> Any:
        raise MemoryError("iter")

    def __int__(self) -> int:
        raise ZeroDivisionError("int")

    def __repr__(self) -> str:
        raise KeyError("repr")


def random_value(rng: random.Random) -> Any:
    """Any value a field might hold: sizes at and past every limit, wrong types, NaN, odd text."""
    pool = [
        0, 1, 2, 3, -1, 7, 8, 12, 16, 255, 256, 2 ** 15, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 63,
        -2 ** 31, rng.randrange(-10, 100), np.uint32(4), np.int64(-3), np.int8(1), True, False,
        1.5, float("nan"), float("inf"), -0.0, None, "", "x", "rgb8", "mono8", "bgra8", "16UC1",
        "\ufffd", "a\x00b", "cam\n", "/velo", "v e l o", "é", "x" * 5000, b"\xff\xfe",
        b"rgb8", bytearray(b"cam"), [], [1, 2, 3], [float("nan")] * 9, list(range(12)),
        [[1, 2], [3]], {"a": 1}, ("x",), np.zeros(9), np.full(12, np.inf), np.array(["a"]),
        np.zeros((3, 3)), np.array([object()]), Hostile(), object(), random_bytes(rng, 64),
        memoryview(b"abc"), array.array("d", [1.0, 2.0]),
    ]
    return rng.choice(pool)


def random_bytes(rng: random.Random, limit: int = 4096) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randrange(limit)))


def random_data(rng: random.Random) -> Any:
    """A ``data`` field: mostly random bytes in the usual containers, sometimes anything."""
    raw = random_bytes(rng)
    kind = rng.randrange(6)
    if kind == 0:
        return np.frombuffer(raw, np.uint8).copy()  # rosbags
    if kind == 1:
        return array.array("B", raw)  # rclpy
    if kind == 2:
        return random_value(rng)
    return raw


def random_field(rng: random.Random) -> Any:
    """A PointField-like entry: usual names at random offsets and types, or junk."""
    if rng.random() < 0.05:
        return random_value(rng)
    entry = SimpleNamespace(
        name=rng.choice(["x", "y", "z", "ring", "intensity", "t", "x", "y", "z", ""]),
        offset=rng.choice([0, 4, 8, 12, 16, 2 ** 31, -4, rng.randrange(64)]),
        datatype=rng.choice([7, 7, 8, 4, 2, 0, 9, 255, rng.randrange(12)]),
        count=rng.choice([1, 1, 1, 0, 3]))
    if rng.random() < 0.1:
        setattr(entry, rng.choice(["name", "offset", "datatype", "count"]), random_value(rng))
    if rng.random() < 0.05:
        delattr(entry, rng.choice(["name", "offset", "datatype", "count"]))
    return entry


def _valid_image(rng: random.Random) -> SimpleNamespace:
    encoding = rng.choice(list(conv.IMAGE_ENCODINGS))
    channels = conv.IMAGE_ENCODINGS[encoding][0]
    height, width, pad = rng.randrange(1, 9), rng.randrange(1, 9), rng.randrange(3)
    step = width * channels + pad
    return SimpleNamespace(height=height, width=width, encoding=encoding, is_bigendian=0,
                           step=step, data=random_bytes(rng, 1) + bytes(height * step))


def _valid_cloud(rng: random.Random) -> SimpleNamespace:
    fields = [SimpleNamespace(name=n, offset=4 * i, datatype=7, count=1)
              for i, n in enumerate(("x", "y", "z", "intensity"))]
    height, width = rng.randrange(1, 4), rng.randrange(1, 20)
    data = np.frombuffer(random_bytes(rng, 1) + bytes(16 * height * width), np.uint8)
    xyz = np.asarray(np.random.default_rng(rng.randrange(1 << 30)).normal(size=data.size // 4),
                     np.float32)
    return SimpleNamespace(height=height, width=width, fields=fields, is_bigendian=False,
                           point_step=16, row_step=16 * width, is_dense=True,
                           data=xyz.tobytes() if rng.random() < 0.7 else data.tobytes())


def _valid_info(rng: random.Random) -> SimpleNamespace:
    k = [rng.uniform(1, 900), 0.0, rng.uniform(0, 600), 0.0, rng.uniform(1, 900),
         rng.uniform(0, 300), 0.0, 0.0, 1.0]
    return SimpleNamespace(width=rng.randrange(1, 2000), height=rng.randrange(1, 2000),
                           distortion_model=rng.choice(["plumb_bob", "", "equidistant"]),
                           d=[0.0] * 4, k=k, r=[1.0, 0, 0, 0, 1, 0, 0, 0, 1],
                           p=k[:3] + [0.0] + k[3:6] + [0.0] + k[6:] + [0.0], binning_x=0,
                           binning_y=0, roi=SimpleNamespace(x_offset=0, y_offset=0, width=0,
                                                            height=0, do_rectify=False))


def _mutate(rng: random.Random, msg: SimpleNamespace) -> Any:
    """Change, delete or randomise one to three fields (data and the field table included)."""
    for _ in range(rng.randrange(1, 4)):
        if not vars(msg):
            break
        name = rng.choice(sorted(vars(msg)))
        roll = rng.random()
        if roll < 0.08:
            delattr(msg, name)
        elif name == "data":
            setattr(msg, name, random_data(rng))
        elif name == "fields":
            msg.fields = [random_field(rng) for _ in range(rng.randrange(6))] \
                if rng.random() < 0.95 else random_value(rng)
        else:
            setattr(msg, name, random_value(rng))
    return msg if rng.random() < 0.98 else random_value(rng)


MAKERS = {"image": _valid_image, "cloud": _valid_cloud, "info": _valid_info}


def _check_result(kind: str, out: Any) -> None:
    """A decoder that did not raise returned a well-formed value."""
    if kind == "image":
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    elif kind == "cloud":
        assert out.xyz.dtype == np.float32 and out.xyz.ndim == 2 and out.xyz.shape[1] == 3
        assert out.xyz.shape[0] > 0 and np.isfinite(out.xyz).all()
    else:
        assert isinstance(out, PinholeCamera)


DECODERS = [
    ("image", conv.image_to_rgb), ("image", compat.decode_image),
    ("cloud", conv.cloud_to_points), ("cloud", compat.decode_cloud),
    ("info", conv.camera_info_to_camera),
]


@pytest.mark.parametrize("kind, decode", DECODERS,
                         ids=[f"{d.__module__.split('.')[-1]}.{d.__name__}" for _, d in DECODERS])
def test_only_input_errors_come_out_of_the_decoders(kind, decode):
    rng = random.Random(f"{kind}-{decode.__name__}")
    outcomes = {"ok": 0, "rejected": 0}
    for case in range(CASES):
        msg = _mutate(rng, MAKERS[kind](rng)) if case % 10 else MAKERS[kind](rng)
        try:
            out = decode(msg)
        except InputError:
            outcomes["rejected"] += 1
            continue
        except Exception as err:  # noqa: BLE001 (the test reports what escaped)
            pytest.fail(f"case {case}: {type(err).__name__}: {err} escaped from "
                        f"{decode.__name__}({shown(msg)})")
        _check_result(kind, out)
        outcomes["ok"] += 1
    # both branches exercised: valid messages decode, mutated ones mostly do not
    assert outcomes["ok"] >= CASES // 10 and outcomes["rejected"] >= CASES // 2, outcomes


@pytest.mark.parametrize("raise_type", [RuntimeError, AssertionError, TypeError, MemoryError])
def test_library_failures_in_the_compat_seam_are_input_errors(monkeypatch, raise_type):
    """cv_bridge / sensor_msgs_py raising anything on a message that passed the layout checks."""
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise raise_type("library failure")
    monkeypatch.setattr(compat, "cv_bridge", SimpleNamespace(CvBridge=lambda: SimpleNamespace(
        imgmsg_to_cv2=fail)))
    monkeypatch.setattr(compat, "point_cloud2", SimpleNamespace(read_points=fail))
    rng = random.Random(7)
    with pytest.raises(InputError, match="could not"):
        compat.decode_image(_valid_image(rng))
    with pytest.raises(InputError, match="could not"):
        compat.decode_cloud(_valid_cloud(rng))


@pytest.mark.parametrize("seed", range(3))
def test_headers_and_stamps_are_checked_totally(seed):
    rng = random.Random(seed)
    for case in range(CASES):
        stamp = SimpleNamespace(sec=rng.choice([0, 5, 2 ** 31 - 1]), nanosec=rng.choice([0, 9]))
        header = SimpleNamespace(stamp=stamp, frame_id=rng.choice(["cam2", "velo_link", ""]))
        msg = SimpleNamespace(header=header)
        if case % 10:
            target = rng.choice([stamp, header, msg])
            _mutate(rng, target)
        try:
            seconds, frame = conv.check_header(msg, "Image")
        except InputError:
            continue
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"case {case}: {type(err).__name__}: {err} escaped ({shown(msg)})")
        assert np.isfinite(seconds) and seconds >= 0 and isinstance(frame, str)
