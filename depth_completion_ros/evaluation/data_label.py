"""What the evaluated data is and under which license, said only as far as the bag says it.

A bag ``depth-completion convert`` wrote from KITTI carries the KITTI frame numbers in its
metadata (``custom_data``, key :data:`~depth_completion_ros.bag.topics.SOURCE_KEY`): its reports
and figures name KITTI and its license, CC BY-NC-SA 3.0. Any other bag is named by its file name,
with its source and license unknown: a report must not put KITTI's name or license on a
recording it knows nothing about.

Example:
    >>> unknown_label("drive.mcap").title
    'drive.mcap: source and license unknown'
    >>> kitti_label("sample", [0, 1, 2, 3]).title
    'KITTI, CC BY-NC-SA 3.0'
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.evaluation.ground_truth import bag_frame_numbers

KITTI_LICENSE = "CC BY-NC-SA 3.0"
KITTI_ATTRIBUTION = (
    "KITTI data: Geiger, Lenz, Stiller, Urtasun, \"Vision meets Robotics: The KITTI Dataset\", "
    "IJRR 2013, licensed CC BY-NC-SA 3.0 (non-commercial, attribution, share-alike); the images "
    "and maps in this report derive from it and carry the same license.")


@dataclass(frozen=True)
class DataLabel:
    """The data of an evaluation, as far as it is known.

    Attributes:
        description: what the data is (the report's ``data`` line).
        license: the data's license, or None when unknown.
        notice: the report's "Data license" paragraph.
        title: the figures' title suffix.
    """

    description: str
    license: str | None
    notice: str
    title: str


def kitti_label(bag_name: str, frames: Sequence[int]) -> DataLabel:
    """The label of a bag converted from KITTI frames ``frames`` (KITTI frame numbers)."""
    return DataLabel(
        f"KITTI raw, {_frames(frames)} (bag {bag_name}, written by depth-completion convert)",
        KITTI_LICENSE, KITTI_ATTRIBUTION, f"KITTI, {KITTI_LICENSE}")


def unknown_label(bag_name: str) -> DataLabel:
    """The label of a bag whose metadata does not say where its data comes from."""
    return DataLabel(
        f"{bag_name}; source and license unknown", None,
        f"Data: {bag_name}; its source and license are unknown (the bag's metadata does not say "
        "where its data comes from). The images and maps in this report derive from it: check "
        "the recording's license before sharing them.",
        f"{bag_name}: source and license unknown")


def data_label(bag: str | Path) -> DataLabel:
    """The label of ``bag`` from its metadata (see the module docstring)."""
    name = Path(bag).name
    frames = bag_frame_numbers(bag)
    return unknown_label(name) if frames is None else kitti_label(name, frames)


def _frames(numbers: Sequence[int]) -> str:
    """``"frames 0-50"`` for a consecutive run, else ``"4 frames"``."""
    if numbers and list(numbers) == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"frames {numbers[0]}-{numbers[-1]}" if len(numbers) > 1 else \
            f"frame {numbers[0]}"
    return f"{len(numbers)} frames"
