"""Shared fixtures: the embedded sample (always present), the larger shared sets (skipped if
absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

from depth_completion_ros.paths import SAMPLE_DIR, SHARED_DATA_DIR

SEQ16_DIR = SHARED_DATA_DIR / "kitti_raw_2011_09_26_seq16"
DRIVE0009_DIR = SHARED_DATA_DIR / "kitti_raw_2011_09_26_drive_0009"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Embedded 4-frame KITTI sample (object-layout calib.txt, no timestamps)."""
    assert SAMPLE_DIR.is_dir(), f"embedded sample missing: {SAMPLE_DIR}"
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def seq16_dir() -> Path:
    """Shared 16-frame KITTI sample; skipped when ../shared is absent (a user's clone)."""
    if not SEQ16_DIR.is_dir():
        pytest.skip("shared 16-frame KITTI sample not present")
    return SEQ16_DIR


@pytest.fixture(scope="session")
def drive0009_dir() -> Path:
    """Shared 51-frame KITTI raw drive in the official layout; skipped when absent."""
    if not DRIVE0009_DIR.is_dir():
        pytest.skip("shared KITTI drive 0009 not present")
    return DRIVE0009_DIR
