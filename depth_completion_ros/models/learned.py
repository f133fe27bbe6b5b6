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


def refinement_problems(name: str, initial_model: str, width: int, embed_dim: int) -> list[str]:
    """What is wrong with the fields a refinement model's config shares (model ``name``; D0
    from ``initial_model``; a guidance network of ``width`` and ``embed_dim`` channels).

    Example:
        >>> refinement_problems("mspn", "mspn", 16, 0)  # doctest: +NORMALIZE_WHITESPACE
        ["initial_model must name another registered model, got 'mspn'",
         'embed_dim must be >= 1, got 0']
    """
    problems = []
    if not initial_model or initial_model == name:
        problems.append(f"initial_model must name another registered model, got "
                        f"{initial_model!r}")
    if width < 4 or width % 4:
        problems.append(f"width must be a positive multiple of 4, got {width}")
    if embed_dim < 1:
        problems.append(f"embed_dim must be >= 1, got {embed_dim}")
    return problems
