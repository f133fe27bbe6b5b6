"""sensor_msgs/CompressedImage -> RGB: image_transport's formats, real frames of the embedded KITTI
sample (Geiger et al., IJRR 2013, CC BY-NC-SA 3.0), and every malformed message an InputError
naming the field."""
from __future__ import annotations

import struct
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from depth_completion_ros.compressed_image import (
    compressed_to_rgb,
    encode_rgb,
    format_codec,
    header_size,
    is_compressed_image,
    message_to_rgb,
)
from depth_completion_ros.errors import InputError
from depth_completion_ros.io.kitti_raw import open_sequence


@pytest.fixture(scope="module")
def rgb(sample_dir) -> np.ndarray:
    """Frame 0 of the sample, (375, 1242, 3) uint8 RGB."""
    return next(iter(open_sequence(sample_dir))).image


def _msg(fmt: str, data) -> SimpleNamespace:
    return SimpleNamespace(format=fmt, data=data)


def _encoded(image: np.ndarray, ext: str, params: tuple = ()) -> bytes:
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return data.tobytes()


def test_png_round_trips_a_real_frame_exactly(rgb: np.ndarray) -> None:
    fmt, data = encode_rgb(rgb, "png")
    assert fmt == "rgb8; png compressed bgr8"
    out = compressed_to_rgb(_msg(fmt, np.frombuffer(data, np.uint8)))  # rosbags: uint8 array
    assert out.dtype == np.uint8 and out.shape == (375, 1242, 3)
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_of_a_real_frame_is_close_and_says_how_close(rgb: np.ndarray) -> None:
    """Quality 95 (image_transport's default): the measured error on KITTI frame 0 is a mean
    absolute difference of 3.2 grey levels per channel (chroma subsampling), at most ~150."""
    fmt, data = encode_rgb(rgb, "jpeg")
    assert fmt == "rgb8; jpeg compressed bgr8" and len(data) < len(encode_rgb(rgb, "png")[1]) / 3
    diff = np.abs(compressed_to_rgb(_msg(fmt, data)).astype(np.int16) - rgb)
    assert 2.5 < diff.mean() < 4.0
    assert np.median(diff) <= 3


@pytest.mark.parametrize("fmt, order", [
    ("rgb8; jpeg compressed bgr8", "bgr"),  # image_transport, an rgb8 image
    ("bgr8; png compressed bgr8", "bgr"),
    ("rgb8; png compressed rgb8", "rgb"),   # a publisher that kept the RGB order
    ("png", "bgr"), ("jpeg", "bgr"), ("", "bgr"),  # older image_transport: codec only / none
])
def test_formats_as_image_transport_writes_them(fmt: str, order: str) -> None:
    """The file holds blue-green-red unless the format says ``compressed rgb``."""
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 0], image[..., 2] = 200, 10  # file channel 0 = 200, channel 2 = 10
    ext = ".jpg" if "jpeg" in fmt else ".png"
    out = compressed_to_rgb(_msg(fmt, _encoded(image, ext, (cv2.IMWRITE_JPEG_QUALITY, 100))))
    red, blue = (out[..., 0], out[..., 2]) if order == "bgr" else (out[..., 2], out[..., 0])
    assert np.abs(red.astype(int) - 10).max() <= 2 and np.abs(blue.astype(int) - 200).max() <= 2


def test_mono_and_alpha_images() -> None:
    mono = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = compressed_to_rgb(_msg("mono8; png compressed mono8", _encoded(mono, ".png")))
    np.testing.assert_array_equal(out, np.repeat(mono[:, :, None], 3, axis=2))
    bgra = np.zeros((3, 4, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 7, 99, 128
    out = compressed_to_rgb(_msg("bgra8; png compressed bgra8", _encoded(bgra, ".png")))
    assert out.shape == (3, 4, 3) and out[0, 0].tolist() == [99, 0, 7]


def test_dispatch_between_image_and_compressed_image(rgb: np.ndarray) -> None:
    fmt, data = encode_rgb(rgb[:8, :8].copy(), "png")
    compressed = _msg(fmt, data)
    raw = SimpleNamespace(encoding="rgb8", height=8, width=8, step=24, is_bigendian=0,
                          data=np.ascontiguousarray(rgb[:8, :8]).tobytes())
    assert is_compressed_image(compressed) and not is_compressed_image(raw)
    np.testing.assert_array_equal(message_to_rgb(compressed), message_to_rgb(raw))


def test_header_size_is_read_before_decoding(rgb: np.ndarray) -> None:
    for codec in ("jpeg", "png"):
        data = np.frombuffer(encode_rgb(rgb, codec)[1], np.uint8)
        assert header_size(data, codec) == (1242, 375)


def _png_with_size(width: int, height: int) -> bytes:
    """A valid small PNG whose IHDR then claims ``width`` x ``height`` (CRC not fixed)."""
    data = bytearray(_encoded(np.zeros((2, 2, 3), np.uint8), ".png"))
    data[16:24] = struct.pack(">II", width, height)
    return bytes(data)


def _sixteen_bit_png() -> bytes:
    return _encoded(np.full((2, 2), 1000, np.uint16), ".png")


PNG = _encoded(np.zeros((2, 3, 3), np.uint8), ".png")
JPEG = _encoded(np.zeros((8, 8, 3), np.uint8), ".jpg")

BAD = [
    # (message, start of the InputError text)
    (SimpleNamespace(data=PNG), "CompressedImage.format: missing"),
    (_msg(None, PNG), "CompressedImage.format: expected a string"),
    (_msg("rgb8; tiff compressed bgr8", PNG), "CompressedImage.format: 'rgb8; tiff"),
    (_msg("tiff", PNG), "CompressedImage.format: 'tiff' is neither JPEG nor PNG"),
    (_msg("16UC1; compressedDepth png", PNG), "CompressedImage.format: '16UC1; compressedDepth"),
    (_msg("rgb8; png compressed bgr8", JPEG), "CompressedImage.format: 'rgb8; png compressed "
                                              "bgr8' but data is JPEG"),
    (_msg("png", b"GIF89a" + bytes(40)), "CompressedImage.data: neither JPEG nor PNG"),
    (_msg("png", b""), "CompressedImage.data: 0 bytes"),
    (_msg("png", "not bytes"), "CompressedImage.data: expected bytes"),
    (_msg("png", [137, 80, 78, 71]), "CompressedImage.data: expected bytes"),
    (_msg("png", PNG[:20]), "CompressedImage.data: PNG without its IHDR header"),
    (_msg("png", PNG[:60]), "CompressedImage.data: OpenCV cannot decode this PNG"),
    (_msg("jpeg", JPEG[:4] + bytes(4)), "CompressedImage.data: JPEG without a readable frame"),
    (_msg("png", _png_with_size(0, 5)), "CompressedImage.data: declared size 0x5 is empty"),
    (_msg("png", _png_with_size(100_000, 100_000)), "CompressedImage.data: declared size "
                                                    "100000x100000 exceeds the limits"),
    (_msg("png", _sixteen_bit_png()), "CompressedImage.data: uint16 PNG"),
]


@pytest.mark.parametrize("msg, message", BAD, ids=[m for _, m in BAD])
def test_malformed_compressed_images_are_input_errors(msg, message: str) -> None:
    with pytest.raises(InputError) as info:
        compressed_to_rgb(msg)
    assert str(info.value).startswith(message), str(info.value)


def test_format_codec_names() -> None:
    assert [format_codec(f) for f in ("rgb8; jpeg compressed bgr8", "mono8; png compressed "
                                      "mono8", "JPEG", "jpg", "", "rgb8")] == \
        ["jpeg", "png", "jpeg", "jpeg", None, None]


@pytest.mark.parametrize("args, message", [
    (("gif",), "codec must be one of"), (("jpeg", 0), "JPEG quality"),
])
def test_encode_rejects_bad_options(args: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message):
        encode_rgb(np.zeros((2, 2, 3), np.uint8), *args)


def test_random_bytes_and_cut_files_raise_only_input_errors(rgb: np.ndarray) -> None:
    """Seeded fuzz: random data behind each signature, real files cut or with bytes flipped;
    every outcome is an RGB image or an InputError (never another exception)."""
    rng = np.random.default_rng(14)
    files = [encode_rgb(rgb[:64, :96].copy(), codec)[1] for codec in ("jpeg", "png")]
    cases = []
    for _ in range(150):
        signature = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b""][rng.integers(3)]
        cases.append(signature + rng.integers(0, 256, rng.integers(0, 200), np.uint8).tobytes())
        data = bytearray(files[rng.integers(2)])
        data = data[:rng.integers(1, len(data))] if rng.random() < 0.5 else data
        for pos in rng.integers(0, len(data), 4):
            data[pos] = rng.integers(0, 256)
        cases.append(bytes(data))
    decoded = 0
    for data in cases:
        try:
            out = compressed_to_rgb(_msg("", data))
        except InputError:
            continue
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        decoded += 1
    assert 0 < decoded < len(cases)  # some damaged files still decode, most random data not
