"""Bottom-centre crops, and the one KITTI crop (1216x352) the benchmark and the networks use.

KITTI's depth-completion benchmark scores the bottom-centre 1216x352 region of each image (the
LiDAR covers nothing above it), and networks trained on KITTI take that crop as input. A
:class:`Crop` gives the box in an image of any size, cuts arrays, and yields the cropped camera
through :meth:`PinholeCamera.crop`, so the intrinsics follow the crop everywhere.

Example:
    >>> KITTI_CROP.box(375, 1242)
    (13, 23, 1216, 352)
"""
from __future__ import annotations

from dataclasses import dataclass

from depth_completion_ros.arrays import Array
from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera

Box = tuple[int, int, int, int]  # (x0, y0, width, height), pixels


@dataclass(frozen=True)
class Crop:
    """A bottom-centre crop of ``width`` x ``height`` pixels (0 = the full image side)."""

    width: int
    height: int

    def box(self, height: int, width: int, *, clamp: bool = False) -> Box:
        """(x0, y0, w, h) of the crop in an (height, width) image.

        Args:
            height, width: image size, pixels.
            clamp: shrink the crop to an image smaller than it (network input) instead of
                raising (scoring).

        Raises:
            InputError: the image is smaller than the crop and ``clamp`` is false.
        """
        w, h = self.width or width, self.height or height
        if not clamp and (h > height or w > width):
            raise InputError(f"crop: expected an image of at least {w}x{h}, got "
                             f"{width}x{height}")
        w, h = min(w, width), min(h, height)
        return (width - w) // 2, height - h, w, h

    def camera(self, camera: PinholeCamera, *, clamp: bool = False) -> PinholeCamera:
        """The camera of the cropped image (principal point moved by the box's corner)."""
        x0, y0, w, h = self.box(camera.height, camera.width, clamp=clamp)
        return camera.crop(x0, y0, w, h)


def cut(image: Array, box: Box) -> Array:
    """The (h, w, ...) region ``box = (x0, y0, w, h)`` of an (H, W, ...) array (a view)."""
    x0, y0, w, h = box
    return image[y0:y0 + h, x0:x0 + w]


#: The KITTI depth-completion crop: scoring region of the benchmark, input of KITTI networks.
KITTI_CROP = Crop(1216, 352)
