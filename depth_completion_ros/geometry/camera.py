"""Pinhole camera model built from the fields of ``sensor_msgs/CameraInfo``.

Pixel convention (the whole package uses it): continuous image coordinates have their origin at the
*corner* of pixel (0, 0), so pixel ``(u, v)`` covers ``[u, u + 1) x [v, v + 1)`` and a projected
point falls in pixel ``(floor(x / z), floor(y / z))``. Under this convention a crop by ``(x0, y0)``
subtracts ``x0, y0`` from the principal point and a scale by ``(sx, sy)`` multiplies ``fx, cx``
by ``sx`` and ``fy, cy`` by ``sy`` with no half-pixel term; this is also the mapping ``cv2.resize``
applies to the image content (its pixel centres map as ``(u + 0.5) * s - 0.5``), so a resized
image and a :meth:`PinholeCamera.scale`-d camera stay consistent.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from depth_completion_ros.arrays import Float64Array
from depth_completion_ros.errors import CalibrationError

#: distortion model name -> accepted lengths of D (0 = no distortion)
DISTORTION_MODELS: dict[str, tuple[int, ...]] = {
    "plumb_bob": (0, 4, 5),
    "rational_polynomial": (0, 8, 12, 14),
    "equidistant": (0, 4),
}


def _matrix(value: ArrayLike, shape: tuple[int, ...], name: str) -> Float64Array:
    """Return ``value`` as a read-only float64 array of ``shape`` or raise CalibrationError."""
    try:
        arr = np.array(value, dtype=np.float64).reshape(shape)
    except (TypeError, ValueError) as err:
        size = np.size(value) if not isinstance(value, str) else value
        raise CalibrationError(f"camera field {name}: expected {int(np.prod(shape))} numbers "
                               f"{shape}, got {size!r}") from err
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"camera field {name}: non-finite value in {arr.tolist()}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class PinholeCamera:
    """A calibrated pinhole camera with optional lens distortion and rectification.

    Attributes:
        width: Image width in pixels.
        height: Image height in pixels.
        K: (3, 3) float64 intrinsics of the raw (distorted) image, pixels.
        D: (n,) float64 distortion coefficients for ``distortion_model`` (n may be 0).
        R: (3, 3) float64 rectification rotation (identity for a monocular camera).
        P: (3, 4) float64 projection of the rectified image, pixels (``P[:, 3]`` holds the
            stereo baseline term ``-fx * B`` in pixel-metres).
        distortion_model: ``plumb_bob``, ``rational_polynomial`` or ``equidistant``.

    Raises:
        CalibrationError: A matrix has the wrong size, a non-finite entry, or a zero focal length
            (an uncalibrated CameraInfo has K and P all zeros).
    """

    width: int
    height: int
    K: Float64Array
    D: Float64Array = field(default_factory=lambda: np.zeros(0))
    R: Float64Array = field(default_factory=lambda: np.eye(3))
    P: Float64Array | None = None
    distortion_model: str = "plumb_bob"

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CalibrationError(f"camera size: width and height must be positive, got "
                                   f"{self.width}x{self.height}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        K = _matrix(self.K, (3, 3), "K")
        P = _matrix(np.hstack([K, np.zeros((3, 1))]) if self.P is None else self.P, (3, 4), "P")
        R = _matrix(self.R, (3, 3), "R")
        if not R.any():  # some drivers leave R all zeros; CameraInfo means identity then
            R = _matrix(np.eye(3), (3, 3), "R")
        D = _matrix(self.D, (-1,), "D")
        self._check_model(D)
        for name, mat in (("K", K), ("P", P)):
            if mat[0, 0] <= 0 or mat[1, 1] <= 0 or mat[2, 2] == 0:
                raise CalibrationError(f"camera field {name}: focal lengths and {name}[2,2] must "
                                       f"be non-zero (fx, fy > 0), got {mat.tolist()}")
        for name, value in (("K", K), ("D", D), ("R", R), ("P", P)):
            object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PinholeCamera):
            return NotImplemented
        return (self.width, self.height, self.distortion_model) == \
            (other.width, other.height, other.distortion_model) and all(
                np.array_equal(getattr(self, f), getattr(other, f)) for f in "KDRP")

    def __hash__(self) -> int:
        return hash((self.width, self.height, self.distortion_model,
                     *(getattr(self, f).tobytes() for f in "KDRP")))

    def _check_model(self, D: Float64Array) -> None:
        allowed = DISTORTION_MODELS.get(self.distortion_model)
        if allowed is None:
            raise CalibrationError(f"camera field distortion_model: {self.distortion_model!r} is "
                                   f"not one of {sorted(DISTORTION_MODELS)}")
        if D.size not in allowed:
            raise CalibrationError(f"camera field D: {self.distortion_model} takes {allowed} "
                                   f"coefficients, got {D.size}")

    @classmethod
    def from_camera_info(cls, width: int, height: int, k: Sequence[float], d: Sequence[float],
                         r: Sequence[float], p: Sequence[float],
                         distortion_model: str = "plumb_bob") -> PinholeCamera:
        """Build from the flat fields of ``sensor_msgs/CameraInfo`` (k: 9, d: n, r: 9, p: 12).

        Example:
            >>> cam = PinholeCamera.from_camera_info(4, 2, [2, 0, 2, 0, 2, 1, 0, 0, 1], [],
            ...                                      [1, 0, 0, 0, 1, 0, 0, 0, 1],
            ...                                      [2, 0, 2, 0, 0, 2, 1, 0, 0, 0, 1, 0])
            >>> cam.intrinsics().tolist()
            [[2.0, 0.0, 2.0], [0.0, 2.0, 1.0], [0.0, 0.0, 1.0]]
        """
        return cls(width, height, _matrix(k, (3, 3), "k"), _matrix(d, (-1,), "d"),
                   _matrix(r, (3, 3), "r"), _matrix(p, (3, 4), "p"),
                   distortion_model or "plumb_bob")

    def intrinsics(self, rectified: bool = True) -> Float64Array:
        """(3, 3) float64 intrinsics: ``P[:, :3]`` of the rectified image, else the raw ``K``."""
        P = self.P
        assert P is not None  # __post_init__ always sets P
        return np.array(P[:, :3] if rectified else self.K)

    def crop(self, x0: int, y0: int, width: int, height: int) -> PinholeCamera:
        """Camera of the sub-image ``[y0:y0 + height, x0:x0 + width]`` (pixels).

        Raises:
            CalibrationError: The crop is empty or leaves the image.
        """
        if x0 < 0 or y0 < 0 or width <= 0 or height <= 0 or x0 + width > self.width \
                or y0 + height > self.height:
            raise CalibrationError(f"camera crop (x0={x0}, y0={y0}, w={width}, h={height}) does "
                                   f"not fit in a {self.width}x{self.height} image")
        shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
        return PinholeCamera(width, height, shift @ self.K, self.D, self.R, shift @ self.P,
                             self.distortion_model)

    def scale(self, sx: float, sy: float | None = None) -> PinholeCamera:
        """Camera of the image resized by ``(sx, sy)``; size rounds to the nearest pixel.

        Raises:
            CalibrationError: A factor is not positive and finite.
        """
        sy = sx if sy is None else sy
        if not (np.isfinite(sx) and np.isfinite(sy) and sx > 0 and sy > 0):
            raise CalibrationError(f"camera scale factors must be positive, got ({sx}, {sy})")
        S = np.diag([sx, sy, 1.0])
        return PinholeCamera(max(1, round(self.width * sx)), max(1, round(self.height * sy)),
                             S @ self.K, self.D, self.R, S @ self.P, self.distortion_model)
