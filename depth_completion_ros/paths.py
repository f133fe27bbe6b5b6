"""Where the package's own files live (embedded sample, configs, checkpoints).

A source checkout keeps them at the repository root; an installed package (colcon) keeps configs
and checkpoints under ``share/depth_completion_ros``. The embedded sample exists only in a checkout.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data" / "kitti_raw_2011_09_26_seq16_4frames"
CONFIG_DIR = REPO_ROOT / "config"
MODELS_DIR = REPO_ROOT / "models"
#: Sibling folder with the larger shared datasets (developers and CI only; absent in a user's
#: clone).
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def share_dir() -> Path | None:
    """The installed ``share/depth_completion_ros`` folder when ament_index can find it, else
    None."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory("depth_completion_ros"))
    except Exception:  # not installed through colcon, or ament_index absent
        return None


def config_dir() -> Path:
    """Folder of parameter presets: the checkout's ``config/`` or the installed share copy."""
    if CONFIG_DIR.is_dir():
        return CONFIG_DIR
    share = share_dir()
    return share / "config" if share else CONFIG_DIR


def models_dir() -> Path:
    """Folder of checkpoints and model cards: the checkout's ``models/`` or the share copy."""
    if MODELS_DIR.is_dir():
        return MODELS_DIR
    share = share_dir()
    return share / "models" if share else MODELS_DIR
