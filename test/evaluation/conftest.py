"""A bag made from the embedded sample, shared by the evaluation tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from depth_completion_ros.bag.convert import convert_kitti


@pytest.fixture(scope="session")
def sample_bag(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    bag = tmp_path_factory.mktemp("evalbag") / "sample"
    convert_kitti(sample_dir, bag)
    return bag
