"""sensor_msgs/CompressedImage (JPEG, PNG) <-> (H, W, 3) uint8 RGB, with OpenCV (no ROS import).

Duck-typed like :mod:`depth_completion_ros.decoding` (rclpy and rosbags messages alike). The
``format`` field is read as ``image_transport``'s compressed plugin writes it: ``"<encoding>;
<jpeg|png> compressed <encoding>"`` (``"rgb8; jpeg compressed bgr8"``, ``"mono8; png compressed
mono8"``), or the older bare ``"jpeg"`` / ``"png"``. The bytes are decoded with
``cv2.imdecode`` as its subscriber does; OpenCV gives blue-green-red order unless the format says
``compressed rgb...``. Only JPEG and PNG are accepted (the codec is recognised by its signature
bytes and must agree with the one ``format`` names), and the size in the file's header is checked
before anything is decoded, so a small message cannot expand into gigabytes.

Example:
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rgb = np.zeros((2, 3, 3), np.uint8); rgb[..., 0] = 200  # red
    >>> fmt, data = encode_rgb(rgb, "png")
    >>> fmt
    'rgb8; png compressed bgr8'
    >>> compressed_to_rgb(SimpleNamespace(format=fmt, data=data))[0, 0].tolist()
    [200, 0, 0]
"""
from __future__ import annotations

import struct
from typing import Any

import cv2
import numpy as np

from depth_completion_ros import message_fields as fields
from depth_completion_ros.arrays import UInt8Array
from depth_completion_ros.decoding import image_to_rgb
from depth_completion_ros.errors import InputError

#: ROS type names (rosbags spelling) of the two image messages.
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
#: codec -> the signature its data starts with
SIGNATURES = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}
#: codec -> OpenCV file extension
_EXTENSIONS = {"jpeg": ".jpg", "png": ".png"}
_WHAT = "CompressedImage"


def is_compressed_image(msg: Any) -> bool:
    """True for a CompressedImage (a ``format`` field, no ``encoding``), False for an Image."""
    return hasattr(msg, "format") and not hasattr(msg, "encoding")


def message_to_rgb(msg: Any) -> UInt8Array:
    """sensor_msgs/Image or sensor_msgs/CompressedImage -> (H, W, 3) uint8 RGB.

    Raises:
        InputError: see :func:`~depth_completion_ros.decoding.image_to_rgb` and
            :func:`compressed_to_rgb`.
    """
    return compressed_to_rgb(msg) if is_compressed_image(msg) else image_to_rgb(msg)


def format_codec(fmt: str) -> str | None:
    """The codec a ``format`` string names: ``"jpeg"``, ``"png"``, or None when it names none.

    >>> format_codec("rgb8; jpeg compressed bgr8"), format_codec("png"), format_codec("")
    ('jpeg', 'png', None)

    Raises:
        InputError: another codec or ``compressedDepth`` (depth images, not camera images).
    """
    words = fmt.lower().replace(";", " ").split()
    if "compresseddepth" in words:
        raise InputError(f"{_WHAT}.format: {fields.shown(fmt)} is a compressedDepth image; "
                         "only camera images (JPEG, PNG) are supported")
    named = [codec for codec in ("jpeg", "jpg", "png") if codec in words]
    if not named and len(words) > 1:
        raise InputError(f"{_WHAT}.format: {fields.shown(fmt)} names no JPEG or PNG codec")
    if not named and words and words[0] not in ("rgb8", "bgr8", "rgba8", "bgra8", "mono8"):
        raise InputError(f"{_WHAT}.format: {fields.shown(fmt)} is neither JPEG nor PNG")
    return None if not named else "png" if named[0] == "png" else "jpeg"


def compressed_to_rgb(msg: Any) -> UInt8Array:
    """sensor_msgs/CompressedImage (JPEG or PNG; 8-bit mono, colour, colour + alpha) -> (H, W, 3)
    uint8 RGB (a new array).

    Raises:
        InputError: naming the field: ``format`` that is not text or names another codec,
            ``data`` that is not bytes, not JPEG / PNG, of another codec than ``format`` says,
            of a size beyond the image limits, 16-bit, or that OpenCV cannot decode.
    """
    fmt = fields.text(msg, "format", _WHAT, max_len=fields.MAX_NAME)
    declared = format_codec(fmt)
    data = fields.byte_buffer(msg, _WHAT, 1)
    codec = sniff_codec(data)
    if declared is not None and declared != codec:
        raise InputError(f"{_WHAT}.format: {fields.shown(fmt)} but data is {codec.upper()}")
    width, height = header_size(data, codec)
    _check_size(width, height)
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        raise InputError(f"{_WHAT}.data: OpenCV cannot decode this {codec.upper()} "
                         f"({data.size} bytes): {err}") from err
    if image is None or image.size == 0:
        raise InputError(f"{_WHAT}.data: OpenCV cannot decode this {codec.upper()} "
                         f"({data.size} bytes, {width}x{height} declared)")
    if image.dtype != np.uint8:
        raise InputError(f"{_WHAT}.data: {image.dtype} {codec.upper()} ({fields.shown(fmt)}); "
                         "only 8-bit images are supported")
    return _to_rgb(image.astype(np.uint8, copy=False), rgb_order="compressed rgb" in fmt.lower())


def _to_rgb(image: UInt8Array, *, rgb_order: bool) -> UInt8Array:
    """(H, W[, C]) uint8 from imdecode (blue first unless ``rgb_order``) -> (H, W, 3) RGB."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    channels = image[:, :, :3]
    return np.ascontiguousarray(channels if rgb_order else channels[:, :, ::-1])


def sniff_codec(data: UInt8Array) -> str:
    """``"jpeg"`` or ``"png"`` from the data's signature bytes.

    Raises:
        InputError: neither signature.
    """
    head = data[:8].tobytes()
    for codec, signature in SIGNATURES.items():
        if head.startswith(signature):
            return codec
    raise InputError(f"{_WHAT}.data: neither JPEG nor PNG (starts with {head.hex(' ')}, "
                     f"{data.size} bytes)")


def header_size(data: UInt8Array, codec: str) -> tuple[int, int]:
    """(width, height) the file's header declares (PNG: IHDR; JPEG: the first SOF segment).

    >>> header_size(np.frombuffer(encode_rgb(np.zeros((5, 7, 3), np.uint8), "jpeg")[1],
    ...                           np.uint8), "jpeg")
    (7, 5)

    Raises:
        InputError: the header is truncated or has no size.
    """
    if codec == "png":
        head = data[:24].tobytes()
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise InputError(f"{_WHAT}.data: PNG without its IHDR header ({data.size} bytes)")
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    return _jpeg_size(data)


def _jpeg_size(data: UInt8Array) -> tuple[int, int]:
    """(width, height) of the first start-of-frame segment (SOF0-15 but DHT, JPG, DAC)."""
    raw = data.tobytes()  # JPEG-sized: a copy costs microseconds next to the decode
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            break
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(raw[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > len(raw):
                break
            height, width = struct.unpack(">HH", raw[pos + 5:pos + 9])
            return int(width), int(height)
        if length < 2:
            break
        pos += 2 + length
    raise InputError(f"{_WHAT}.data: JPEG without a readable frame header ({len(raw)} bytes)")


def _check_size(width: int, height: int) -> None:
    """The declared size within the image limits of :mod:`message_fields`."""
    if width == 0 or height == 0:
        raise InputError(f"{_WHAT}.data: declared size {width}x{height} is empty")
    if width > fields.MAX_IMAGE_SIDE or height > fields.MAX_IMAGE_SIDE or \
            width * height > fields.MAX_IMAGE_PIXELS:
        raise InputError(f"{_WHAT}.data: declared size {width}x{height} exceeds the limits "
                         f"({fields.MAX_IMAGE_SIDE} a side, {fields.MAX_IMAGE_PIXELS} pixels)")


def encode_rgb(rgb: UInt8Array, codec: str, quality: int = 95) -> tuple[str, bytes]:
    """(H, W, 3) uint8 RGB -> (``format``, data) of a CompressedImage, as image_transport's
    compressed publisher writes an rgb8 image: blue-green-red in the file, format
    ``"rgb8; <codec> compressed bgr8"``.

    Args:
        rgb: the image.
        codec: ``"jpeg"`` or ``"png"``.
        quality: JPEG quality 1-100 (image_transport's default is 95); PNG is lossless.

    Raises:
        InputError: another codec, a quality outside 1-100, or not an (H, W, 3) uint8 image.
    """
    if codec not in _EXTENSIONS:
        raise InputError(f"codec must be one of {sorted(_EXTENSIONS)}, got {codec!r}")
    if not 1 <= quality <= 100:
        raise InputError(f"JPEG quality must be in [1, 100], got {quality}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError(f"rgb image must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if codec == "jpeg" else []
    ok, data = cv2.imencode(_EXTENSIONS[codec], np.ascontiguousarray(rgb[:, :, ::-1]), params)
    if not ok:  # not expected for a uint8 image
        raise InputError(f"OpenCV could not encode a {rgb.shape} image as {codec}")
    return f"rgb8; {codec} compressed bgr8", data.tobytes()
