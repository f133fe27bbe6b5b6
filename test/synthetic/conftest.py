"""A synthetic street scene with analytic geometry, a simulated spinning LiDAR and pinhole cameras.

Everything here is exact: the LiDAR's points are analytic ray hits, and the ground truth depth of
a camera pixel is the optical-frame z of the first hit of the ray through the pixel's centre. The
scene (LiDAR frame: x forward, y left, z up, metres; the LiDAR at the origin):

* ground plane ``z = -LIDAR_HEIGHT``;
* a wall ``x = WALL_X`` facing the sensor, ``y`` in ``WALL_Y``, from the ground to ``WALL_TOP``;
* a pole: vertical cylinder of radius ``POLE_RADIUS`` around ``POLE_XY``, ground to ``POLE_TOP``.

Rays that hit nothing (the sky) give no LiDAR return and a GT depth of 0.

The camera sits ``CAMERA_POSITION`` (LiDAR frame) from the LiDAR, yawed and pitched a little, so
the LiDAR -> camera extrinsic has a rotation and a translation and LiDAR / camera parallax exists
(the LiDAR sees parts of the wall behind the pole that the camera does not).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from depth_completion_ros.geometry.camera import PinholeCamera

LIDAR_HEIGHT = 1.73
WALL_X = 12.0
WALL_Y = (-6.0, 4.0)
WALL_TOP = 2.5
POLE_XY = (7.0, 1.2)
POLE_RADIUS = 0.2
POLE_TOP = 1.0
#: camera origin in the LiDAR frame (metres): behind, right of and below the LiDAR
CAMERA_POSITION = np.array([-0.27, -0.32, -0.08])
CAMERA_YAW_DEG, CAMERA_PITCH_DEG = 4.0, 3.0  # left, down

#: surface labels of :func:`raycast`
SKY, GROUND, WALL, POLE = 0, 1, 2, 3

#: LiDAR axes (x forward, y left, z up) -> optical axes (x right, y down, z forward)
LIDAR_TO_OPTICAL = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


def raycast(origin: np.ndarray, dirs: np.ndarray, max_range: float = 200.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """First hit of rays ``origin + t * dirs`` (LiDAR frame) with the scene.

    Args:
        origin: (3,) ray origin, metres.
        dirs: (N, 3) directions (any length; ``t`` is in units of that length).
        max_range: hits farther than this (in ``t``) count as misses.

    Returns:
        (t (N,) float64, inf on a miss; label (N,) int of SKY / GROUND / WALL / POLE).
    """
    ox, oy, oz = origin
    dx, dy, dz = dirs[:, 0], dirs[:, 1], dirs[:, 2]
    t = np.full(len(dirs), np.inf)
    label = np.full(len(dirs), SKY)
    with np.errstate(divide="ignore", invalid="ignore"):
        tg = (-LIDAR_HEIGHT - oz) / dz
        _take(t, label, np.where(tg > 0, tg, np.inf), GROUND)
        tw = (WALL_X - ox) / dx
        yw, zw = oy + tw * dy, oz + tw * dz
        ok = (tw > 0) & (yw >= WALL_Y[0]) & (yw <= WALL_Y[1]) & (zw <= WALL_TOP)
        _take(t, label, np.where(ok, tw, np.inf), WALL)
        # cylinder: |(o + t d - c)_xy| = r, entering root
        px, py = ox - POLE_XY[0], oy - POLE_XY[1]
        a = dx ** 2 + dy ** 2
        b = 2 * (px * dx + py * dy)
        c = px ** 2 + py ** 2 - POLE_RADIUS ** 2
        disc = b ** 2 - 4 * a * c
        tp = (-b - np.sqrt(disc)) / (2 * a)
        ok = (disc >= 0) & (tp > 0) & (oz + tp * dz <= POLE_TOP)
        _take(t, label, np.where(ok, tp, np.inf), POLE)
    far = t > max_range
    t[far], label[far] = np.inf, SKY
    return t, label


def _take(t: np.ndarray, label: np.ndarray, candidate: np.ndarray, name: int) -> None:
    """In place: where ``candidate`` is nearer than ``t``, take it and its label."""
    nearer = candidate < t
    t[nearer] = candidate[nearer]
    label[nearer] = name


@dataclass(frozen=True)
class Scan:
    """A simulated spinning-LiDAR scan.

    Attributes:
        points: (N, 3) float32 x, y, z, metres, LiDAR frame, in storage order.
        ring: (N,) uint16 beam index (0 = lowest beam, as Velodyne / Ouster drivers number them).
        label: (N,) surface hit (GROUND / WALL / POLE).
    """

    points: np.ndarray
    ring: np.ndarray
    label: np.ndarray


def spin_scan(elevations_deg: np.ndarray, azimuth_step_deg: float = 0.2, *,
              order: str = "beam", start_deg: float = 5.0) -> Scan:
    """Ray-cast a spinning LiDAR at the origin; misses (sky) give no point.

    Args:
        elevations_deg: (B,) beam elevations, degrees, ascending.
        azimuth_step_deg: degrees between firings.
        order: ``"beam"``: one full counter-clockwise turn per beam, beam after beam (KITTI
            ``.bin`` storage); ``"firing"``: all beams of one azimuth, azimuth after azimuth
            (what Velodyne / Ouster drivers publish).
        start_deg: azimuth of the first firing, degrees.
    """
    elev = np.radians(np.asarray(elevations_deg, np.float64))
    az = np.radians(start_deg + np.arange(0.0, 360.0, azimuth_step_deg))
    ring, azim = np.meshgrid(np.arange(len(elev)), az, indexing="ij")  # (B, A): beam order
    if order == "firing":
        ring, azim = ring.T, azim.T
    ring, azim = ring.ravel(), azim.ravel()
    e = elev[ring]
    dirs = np.stack([np.cos(e) * np.cos(azim), np.cos(e) * np.sin(azim), np.sin(e)], axis=1)
    t, label = raycast(np.zeros(3), dirs)
    hit = np.isfinite(t)
    pts = dirs[hit] * t[hit, None]
    return Scan(pts.astype(np.float32), ring[hit].astype(np.uint16), label[hit])


#: VLP-16: -15..+15 degrees in 2 degree steps
VLP16 = np.arange(-15.0, 15.1, 2.0)
#: HDL-32E: -30.67..+10.67 degrees in 4/3 degree steps
HDL32 = np.linspace(-30.67, 10.67, 32)


def camera_rotation() -> np.ndarray:
    """(3, 3) rotation LiDAR frame -> camera optical frame (yaw left, then pitch down)."""
    yaw, pitch = np.radians(CAMERA_YAW_DEG), np.radians(CAMERA_PITCH_DEG)
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    ry = np.array([[np.cos(pitch), 0, np.sin(pitch)], [0, 1, 0],
                   [-np.sin(pitch), 0, np.cos(pitch)]])
    body = rz @ ry  # camera body axes (x forward, y left, z up) in the LiDAR frame
    return LIDAR_TO_OPTICAL @ body.T


def lidar_to_camera() -> np.ndarray:
    """(4, 4) LiDAR -> optical: ``p_cam = R (p_lidar - CAMERA_POSITION)``."""
    R = camera_rotation()
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = -R @ CAMERA_POSITION
    return T


def make_camera(width: int, height: int, *, f: float, distortion: tuple[float, ...] = (),
                baseline_px_m: float = 0.0) -> PinholeCamera:
    """A camera from CameraInfo-style flat fields (principal point off-centre on purpose).

    Args:
        width, height: pixels.
        f: focal length, pixels (fx = f, fy = 1.01 f).
        distortion: plumb_bob D (empty = none).
        baseline_px_m: ``P[0, 3]`` (``-fx * B`` of a right stereo camera), pixel-metres.
    """
    fx, fy, cx, cy = f, 1.01 * f, 0.52 * width, 0.47 * height
    k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    p = [fx, 0.0, cx, baseline_px_m, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return PinholeCamera.from_camera_info(width, height, k, list(distortion),
                                          [1.0, 0, 0, 0, 1, 0, 0, 0, 1], p, "plumb_bob")


def pixel_rays(camera: PinholeCamera, uv: np.ndarray, rectified: bool) -> np.ndarray:
    """(M, 3) optical-frame rays (z = 1) through continuous image points ``uv`` (M, 2), pixels.

    Rectified: through ``P`` (its baseline term shifts the optical centre, see :func:`gt_at`).
    Raw: undistorted through ``K`` and ``D`` (iterated to 1e-12).
    """
    if rectified:
        P = camera.P
        x = (uv[:, 0] - P[0, 2]) / P[0, 0]
        y = (uv[:, 1] - P[1, 2]) / P[1, 1]
    else:
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
        und = cv2.undistortPointsIter(uv.reshape(-1, 1, 2).astype(np.float64), camera.K,
                                      camera.D, None, None, crit)
        x, y = und[:, 0, 0], und[:, 0, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def gt_at(camera: PinholeCamera, transform: np.ndarray, uv: np.ndarray, rectified: bool = True
          ) -> tuple[np.ndarray, np.ndarray]:
    """Analytic depth (optical-frame z, metres, 0 = sky) and surface label at image points.

    Args:
        uv: (M, 2) continuous pixel coordinates (pixel (0, 0) covers [0, 1) x [0, 1)).

    The optical frame is the one ``transform`` maps into; with a stereo baseline
    ``P[0, 3] = -fx * B`` the projection centre sits at ``x = B`` in that frame.
    """
    rays = pixel_rays(camera, uv, rectified)
    centre = np.zeros(3)
    if rectified:
        centre[0] = -camera.P[0, 3] / camera.P[0, 0]
    R, t = transform[:3, :3], transform[:3, 3]
    origin = R.T @ (centre - t)  # camera centre in the LiDAR frame
    hit, label = raycast(origin, rays @ R)  # row-wise R.T @ ray
    return np.where(np.isfinite(hit), hit, 0.0), label  # rays have z = 1: t is the optical z


def gt_depth(camera: PinholeCamera, transform: np.ndarray, rectified: bool = True
             ) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) analytic depth (metres, 0 = sky) and label through every pixel centre."""
    u, v = np.meshgrid(np.arange(camera.width) + 0.5, np.arange(camera.height) + 0.5)
    depth, label = gt_at(camera, transform, np.stack([u.ravel(), v.ravel()], axis=1), rectified)
    return depth.reshape(u.shape), label.reshape(u.shape)


@pytest.fixture(scope="session")
def scene() -> SimpleNamespace:
    """The helpers above, for the tests of this folder (importlib mode: no module imports)."""
    return SimpleNamespace(
        raycast=raycast, spin_scan=spin_scan, make_camera=make_camera, gt_depth=gt_depth,
        gt_at=gt_at,
        lidar_to_camera=lidar_to_camera, camera_rotation=camera_rotation,
        VLP16=VLP16, HDL32=HDL32, SKY=SKY, GROUND=GROUND, WALL=WALL, POLE=POLE,
        CAMERA_POSITION=CAMERA_POSITION)


