"""What the learned models' registry sides share (no torch import): the NLSPN family's input spec
and the config rules of the ResNet encoder-decoder they stand on."""
from __future__ import annotations

from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.models.weights import InputSpec

#: The NLSPN family's KITTI preprocessing (the authors' NLSPN code): bottom-centre 1216x352 crop,
#: RGB / 255 then ImageNet mean / std, depth in metres, no padding (the encoder-decoder crops its
#: decoder maps to any size).
KITTI_IMAGENET_INPUT = InputSpec(crop=KITTI_CROP, stride=1, rgb_mean=(0.485, 0.456, 0.406),
                                 rgb_std=(0.229, 0.224, 0.225), depth_scale=1.0)

#: ResNet depths the encoder-decoder builds
BACKBONE_DEPTHS = (18, 34)


def backbone_problems(backbone_depth: int, width: int, prop_time: int) -> list[str]:
    """What is wrong with the encoder-decoder fields of a config (empty when nothing).

    Example:
        >>> backbone_problems(50, 30, -1)  # doctest: +NORMALIZE_WHITESPACE
        ['backbone_depth must be 18 or 34, got 50', 'width must be a positive multiple of 4,
         got 30', 'prop_time must be >= 0, got -1']
    """
    problems = []
    if backbone_depth not in BACKBONE_DEPTHS:
        problems.append(f"backbone_depth must be 18 or 34, got {backbone_depth}")
    if width < 4 or width % 4:
        problems.append(f"width must be a positive multiple of 4, got {width}")
    if prop_time < 0:
        problems.append(f"prop_time must be >= 0, got {prop_time}")
    return problems
