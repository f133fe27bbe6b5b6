"""Total readers of duck-typed message fields: each reads one field, checks it, or raises.

A message may come from rclpy, from rosbags or from a test, and a field may hold anything: a
missing attribute, a string where an integer belongs, a negative size, NaN in a matrix, a
nanosecond count past one second, a frame id with undecodable bytes. Every reader here takes the
message, the field name and what the message is (for the error text), and returns the value in
one checked type, or raises :class:`InputError` naming the field and the value; nothing else
escapes (a failing attribute access included). :mod:`depth_completion_ros.decoding` builds the
message decoders on these.

Example:
    >>> from types import SimpleNamespace
    >>> integer(SimpleNamespace(width=640), "width", "Image", 1, 32768)
    640
    >>> try:
    ...     stamp_seconds(SimpleNamespace(sec=3, nanosec=10**9), "Image.header.stamp")
    ... except InputError as err:
    ...     print(err)
    Image.header.stamp.nanosec: 1000000000 is outside [0, 999999999]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from depth_completion_ros.arrays import Float64Array, UInt8Array
from depth_completion_ros.errors import InputError

#: largest width or height of an image or a camera, pixels
MAX_IMAGE_SIDE = 1 << 15
#: largest image, pixels (width * height)
MAX_IMAGE_PIXELS = 1 << 27
#: largest point (``point_step``), bytes
MAX_POINT_STEP = 1 << 16
#: largest cloud, points (width * height)
MAX_CLOUD_POINTS = 1 << 25
#: largest value of a uint32 message field (``step``, ``row_step``)
MAX_UINT32 = (1 << 32) - 1
#: longest frame id, encoding name or field name, characters
MAX_NAME = 1024
_SHOWN = 80  # characters of a bad value shown in a message


def shown(value: Any) -> str:
    """``repr(value)`` cut to a readable length (a bad field may hold megabytes)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"... ({len(text)} chars)"


def get(msg: Any, field: str, what: str) -> Any:
    """``msg.<field>``; InputError when the message has no such field (or reading it fails)."""
    try:
        return getattr(msg, field)
    except Exception as err:
        raise InputError(f"{what}.{field}: missing ({type(err).__name__})") from err


def integer(msg: Any, field: str, what: str, low: int, high: int) -> int:
    """An integer field in ``[low, high]`` (Python or numpy integer; bool is not an integer)."""
    value = get(msg, field, what)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{what}.{field}: expected an integer, got {shown(value)} "
                         f"({type(value).__name__})")
    if not low <= int(value) <= high:
        raise InputError(f"{what}.{field}: {int(value)} is outside [{low}, {high}]")
    return int(value)


def flag(msg: Any, field: str, what: str) -> bool:
    """A boolean field: bool, or the integers 0 and 1 (a uint8 in some message libraries)."""
    value = get(msg, field, what)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise InputError(f"{what}.{field}: expected a boolean, got {shown(value)}")


def text(msg: Any, field: str, what: str, *, max_len: int = MAX_NAME) -> str:
    """A string field: printable text of at most ``max_len`` characters (may be empty).

    UTF-8 bytes are decoded. Rejected: other types, undecodable bytes, U+FFFD (what rclpy puts
    where the wire held invalid UTF-8), control characters and whitespace other than spaces.
    """
    value = get(msg, field, what)
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"{what}.{field}: {shown(value)} is not UTF-8") from err
    if not isinstance(value, str):
        raise InputError(f"{what}.{field}: expected a string, got {shown(value)} "
                         f"({type(value).__name__})")
    if len(value) > max_len:
        raise InputError(f"{what}.{field}: {len(value)} characters, at most {max_len}")
    if "\ufffd" in value or not value.replace(" ", "").isprintable():
        raise InputError(f"{what}.{field}: {shown(value)} holds invalid UTF-8 or control "
                         "characters")
    return value


def frame_id(header: Any, what: str) -> str:
    """``header.frame_id``: printable, no spaces, no leading ``/`` (tf2 refuses those)."""
    value = text(header, "frame_id", f"{what}.header")
    if " " in value or value.startswith("/"):
        raise InputError(f"{what}.header.frame_id: {shown(value)} has a space or a leading '/' "
                         "(tf2 frame ids have neither)")
    return value


def stamp_seconds(stamp: Any, what: str) -> float:
    """builtin_interfaces/Time -> seconds; ``sec`` in [0, 2^31), ``nanosec`` below one second.

    Negative times are refused: rclpy's Time and tf2 have none.
    """
    sec = integer(stamp, "sec", what, 0, (1 << 31) - 1)
    nanosec = integer(stamp, "nanosec", what, 0, 999_999_999)
    return float(sec) + 1e-9 * float(nanosec)


def numbers(msg: Any, field: str, what: str, sizes: Sequence[int]) -> Float64Array:
    """A flat array field of finite numbers whose length is one of ``sizes`` -> float64 copy."""
    value = get(msg, field, what)
    if isinstance(value, (str, bytes, bytearray)):
        raise InputError(f"{what}.{field}: expected numbers, got {shown(value)}")
    try:
        array = np.array(value, dtype=np.float64)
    except Exception as err:  # ragged, non-numeric, a hostile __len__ / __iter__ ...
        raise InputError(f"{what}.{field}: expected numbers, got {shown(value)}") from err
    if array.ndim != 1 or array.size not in sizes:
        raise InputError(f"{what}.{field}: expected {' or '.join(map(str, sizes))} numbers, "
                         f"got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InputError(f"{what}.{field}: non-finite value in {array.tolist()}")
    return array


def byte_buffer(msg: Any, what: str, needed: int) -> UInt8Array:
    """``msg.data`` as a flat uint8 array, without copying where it is a buffer already.

    Accepted: bytes-like objects (bytes, bytearray, memoryview, array.array) and numeric numpy
    arrays (rosbags gives uint8 arrays); their raw bytes are read.

    Raises:
        InputError: another type, or fewer than ``needed`` bytes (truncated).
    """
    data = get(msg, "data", what)
    try:
        if isinstance(data, np.ndarray):
            if data.dtype.hasobject or data.dtype.itemsize == 0:
                raise TypeError(f"dtype {data.dtype}")
            buf = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        elif isinstance(data, (str, int, float)) or data is None:
            raise TypeError(type(data).__name__)
        else:
            buf = np.frombuffer(data, dtype=np.uint8)
    except Exception as err:  # not a buffer: a list, a string, a non-contiguous view ...
        raise InputError(f"{what}.data: expected bytes, got {type(data).__name__}") from err
    if buf.size < needed:
        raise InputError(f"{what}.data: {buf.size} bytes, layout needs {needed} (truncated)")
    return buf
