"""LiDAR points -> sparse depth image (z-buffer, nearest wins), and depth image -> 3D points.

Conventions (see docs/ARCHITECTURE.md): a point lands in pixel ``(floor(x / z), floor(y / z))``;
its depth is the third row of ``P @ [X; 1]`` on the rectified path (optical-frame z, metres) and
the optical-frame z on the raw path. Points with depth <= ``min_depth``, outside the image, or
with a NaN / inf coordinate are dropped (never an error: real clouds carry NaN padding).
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, BoolArray, Float32Array, Float64Array, IntArray
from depth_completion_ros.checks import check_points, check_rigid_transform
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera


class ProjectedPoints(NamedTuple):
    """Points that landed in the image, in input order.

    Attributes:
        u: (M,) int64 pixel column.
        v: (M,) int64 pixel row.
        depth: (M,) float32 depth in metres.
        index: (M,) int64 index of each point in the input cloud.
    """

    u: IntArray
    v: IntArray
    depth: Float32Array
    # the field shadows tuple.index (a NamedTuple method); the public name is kept
    index: IntArray  # type: ignore[assignment]


def project_points(points: Array, lidar_to_camera: Array, camera: PinholeCamera, *,
                   rectified: bool = True, min_depth: float = 0.1) -> ProjectedPoints:
    """Project LiDAR points into the camera image.

    Args:
        points: (N, >=3) x, y, z in metres in the LiDAR frame (extra columns ignored).
        lidar_to_camera: (4, 4) LiDAR -> camera optical frame (rectified frame when ``rectified``).
        camera: Target camera; ``P`` is used when ``rectified``, else ``K`` and ``D``.
        rectified: Project with ``P`` (rectified image) or with ``K`` + ``D`` (raw image).
        min_depth: Points at or below this depth (metres) are dropped.

    Returns:
        The points inside the image with their pixel, depth and input index.
    """
    xyz = check_points(points)
    T = check_rigid_transform(lidar_to_camera)
    P = camera.P
    assert P is not None  # PinholeCamera.__post_init__ always sets P
    M = P @ T if rectified else T[:3]
    cand = _candidates(xyz, M, camera, rectified, min_depth)
    keep = np.flatnonzero(cand)
    # compress on the contiguous (N, C) rows: several times faster than fancy indexing xyz
    sel = np.compress(cand, np.ascontiguousarray(points), axis=0)[:, :3].astype(np.float64)
    depth = sel @ M[2, :3] + M[2, 3]
    front = depth > min_depth
    keep, sel, depth = keep[front], sel[front], depth[front]
    if rectified:
        inv = 1.0 / depth
        x = (sel @ M[0, :3] + M[0, 3]) * inv
        y = (sel @ M[1, :3] + M[1, 3]) * inv
    else:
        x, y = _distort(sel @ M[:, :3].T + M[:, 3], camera)
    ok = (x >= 0) & (x < camera.width) & (y >= 0) & (y < camera.height)
    return ProjectedPoints(x[ok].astype(np.int64), y[ok].astype(np.int64),
                           depth[ok].astype(np.float32), keep[ok])


def _candidates(xyz: Array, M: Float64Array, camera: PinholeCamera, rectified: bool,
                min_depth: float) -> BoolArray:
    """(N,) bool mask of points that may land in the image, from a fast float32 pass with margins
    (0.01 m in depth, 2 px in the image) far above float32 error; the exact float64 test follows.
    NaN / inf coordinates compare False and drop out here."""
    M32 = M.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z: Array = xyz @ M32[2, :3] + M32[2, 3]
        front = z > min_depth - 0.01
        if not rectified:
            return front
        zc = np.maximum(z, np.float32(1e-3))
        x = (xyz @ M32[0, :3] + M32[0, 3]) / zc
        y = (xyz @ M32[1, :3] + M32[1, 3]) / zc
    inside: BoolArray = (x > -2) & (x < camera.width + 2) & (y > -2) & (y < camera.height + 2)
    return front & (inside | (z < 1e-3))


def _distort(cam_points: Float64Array, camera: PinholeCamera) -> tuple[Float64Array, Float64Array]:
    """Raw-image coordinates of (M, 3) optical-frame points (z > 0) through K and D (OpenCV).

    Points beyond 1.2x the undistorted radius of the image corners come back as NaN (dropped):
    strong radial polynomials fold such points back into the image (KITTI's k1 = -0.37 maps a
    point 56 degrees off-axis inside the frame).
    """
    if len(cam_points) == 0:
        return np.zeros(0), np.zeros(0)
    zero = np.zeros(3)
    obj = np.ascontiguousarray(cam_points.reshape(-1, 1, 3))
    fisheye = camera.distortion_model == "equidistant"
    D = camera.D if camera.D.size else np.zeros(4 if fisheye else 5)
    if fisheye:
        img, _ = cv2.fisheye.projectPoints(obj, zero, zero, camera.K, D)
    else:
        img, _ = cv2.projectPoints(obj, zero, zero, camera.K, D)
    img = np.asarray(img, dtype=np.float64).reshape(-1, 2).copy()  # float64 already (cv2)
    radius = np.hypot(cam_points[:, 0], cam_points[:, 1]) / cam_points[:, 2]
    img[radius > 1.2 * _corner_radius(camera, D, fisheye)] = np.nan
    return img[:, 0], img[:, 1]


def _corner_radius(camera: PinholeCamera, D: Float64Array, fisheye: bool) -> float:
    """Largest undistorted normalised radius (tan of the off-axis angle) of the image corners."""
    w, h = camera.width, camera.height
    corners = np.array([[[0.0, 0.0]], [[w, 0.0]], [[0.0, h]], [[w, h]]])
    if fisheye:
        und = cv2.fisheye.undistortPoints(corners, camera.K, D)
    else:
        und = cv2.undistortPoints(corners, camera.K, D)
    return float(np.hypot(und[..., 0], und[..., 1]).max())


def project_to_depth(points: Array, lidar_to_camera: Array, camera: PinholeCamera, *,
                     rectified: bool = True, min_depth: float = 0.1) -> Float32Array:
    """Render LiDAR points into an (H, W) float32 sparse depth image (metres, 0 = none).

    Where several points fall in one pixel the nearest wins. Arguments as :func:`project_points`.

    Example:
        >>> cam = PinholeCamera(4, 4, np.array([[2.0, 0, 2], [0, 2, 2], [0, 0, 1]]))
        >>> d = project_to_depth(np.array([[0.0, 0, 5], [0, 0, 3]]), np.eye(4), cam)
        >>> float(d[2, 2])
        3.0
    """
    proj = project_points(points, lidar_to_camera, camera, rectified=rectified,
                          min_depth=min_depth)
    return zbuffer(proj, camera.height, camera.width)


def zbuffer(proj: ProjectedPoints, height: int, width: int, max_rounds: int = 8
            ) -> Float32Array:
    """(H, W) float32 depth image keeping the nearest of the points that share a pixel.

    Without a sort: every point is written once (some point per pixel lands), then the points
    nearer than what their pixel holds are written again, until none is; a few rounds on
    ever fewer points (most pixels hold one point). After ``max_rounds`` the remaining points
    are written far to near (a sort), so the result never depends on the input order.
    """
    out = np.zeros(height * width, np.float32)
    pixel = proj.v * width + proj.u
    depth = proj.depth
    out[pixel] = depth
    for _ in range(max_rounds):
        nearer = np.flatnonzero(depth < out[pixel])
        if nearer.size == 0:
            return out.reshape(height, width)
        pixel, depth = pixel[nearer], depth[nearer]
        out[pixel] = depth
    order = np.argsort(depth)[::-1]  # far first, so the nearest is assigned last and wins
    out[pixel[order]] = depth[order]
    return out.reshape(height, width)


def unproject_depth(depth: Array, K: Array) -> Float32Array:
    """Back-project a depth image through the centre of each pixel.

    Args:
        depth: (H, W) depth in metres; 0, negative or NaN = no measurement.
        K: (3, 3) intrinsics (``camera.intrinsics()``); a stereo baseline in P is not applied.

    Returns:
        (H, W, 3) float32 optical-frame x, y, z in metres, NaN where there is no measurement.
        Pixel ``(u, v)`` is read at ``(u + 0.5, v + 0.5)``, so re-projecting lands in the same
        pixel.
    """
    depth = np.asarray(depth, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if depth.ndim != 2:
        raise InputError(f"depth: expected an (H, W) image, got shape {depth.shape}")
    if K.shape != (3, 3) or K[0, 0] == 0 or K[1, 1] == 0:
        raise InputError(f"K: expected a (3, 3) matrix with non-zero focal lengths, got "
                         f"{K.tolist()}")
    h, w = depth.shape
    z = np.where(depth > 0, depth, np.nan)
    u = (np.arange(w) + 0.5 - K[0, 2])[None, :]
    v = (np.arange(h) + 0.5 - K[1, 2])[:, None]
    y = v * z / K[1, 1]
    x = (u * z - K[0, 1] * y) / K[0, 0]
    return np.stack([x, y, z], axis=-1).astype(np.float32)
