"""Online evaluation through the live node (a real rclpy graph, the node in a subprocess), by the
same code path as ``depth-completion evaluate BAG --online``: every frame of the 4-frame sample
is delivered and scores like offline evaluation.

KITTI data (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.paths import CONFIG_DIR

pytest.importorskip("rclpy")

ROS_ENV = {"ROS_DOMAIN_ID": str(os.getpid() % 100 + 100),
           "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
           "FASTDDS_DEFAULT_PROFILES_FILE": str(CONFIG_DIR / "fastdds_shm.xml"),
           "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}
METRICS = ("rmse", "mae", "irmse", "imae", "abs_rel", "sq_rel", "delta1", "delta2", "delta3")


def _evaluate(bag: Path, report: Path, *extra: str) -> dict:
    code = main(["evaluate", str(bag), "--model", "nearest", "--heldout-beams", "--lines", "32",
                 "--report", str(report), *extra])
    assert code == 0
    return json.loads((report / "metrics.json").read_text())


@pytest.fixture(scope="module")
def online_offline(sample_bag: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[dict, dict, Path]:
    out = tmp_path_factory.mktemp("online")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ROS_ENV.items():
            patch.setenv(key, value)
        # half speed (5 Hz): the node keeps up even on a loaded 2-core machine, so its queue of
        # one drops nothing and all 4 frames are delivered
        online = _evaluate(sample_bag, out / "online", "--online", "--rate", "0.5")
    return online, _evaluate(sample_bag, out / "offline"), out


def test_online_delivers_and_accounts_for_every_frame(online_offline: tuple) -> None:
    online, _, out = online_offline
    account = {k: online["node"][k] for k in ("images sent", "depth published",
                                              "dropped by design", "unserved",
                                              "rejected inputs", "unaccounted")}
    assert account == {"images sent": 4, "depth published": 4, "dropped by design": 0,
                       "unserved": 0, "rejected inputs": 0, "unaccounted": 0}
    assert [row["status"] for row in online["frames"]] == ["scored"] * 4
    report = (out / "online" / "report.md").read_text()
    assert "| images sent | 4 |" in report and "| unaccounted | 0 |" in report


def test_online_scores_equal_offline(online_offline: tuple) -> None:
    """The node runs the same pipeline on the same input rings: the same numbers (floating-point
    noise of a different process aside)."""
    online, offline, _ = online_offline
    for name in METRICS:
        assert online[name] == pytest.approx(offline[name], rel=1e-6, abs=1e-9), name
    for a, b in zip(online["frames"], offline["frames"]):
        assert (a["frame"], a["stamp_ns"]) == (b["frame"], b["stamp_ns"])
        assert a["metrics"]["rmse"] == pytest.approx(b["metrics"]["rmse"], rel=1e-6)
