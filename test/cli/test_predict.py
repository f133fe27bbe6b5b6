"""``depth-completion predict`` and ``models`` on a tiny val_selection_cropped folder."""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from depth_completion_ros.cli import models as models_cli
from depth_completion_ros.cli import predict
from depth_completion_ros.io.depth_png import read_depth_png


def test_predict_writes_depth_and_confidence(tmp_path, capsys, make_folder):
    names = make_folder(tmp_path / "dc")
    parser = argparse.ArgumentParser()
    predict.add_arguments(parser)
    args = parser.parse_args(["--kitti-dc", str(tmp_path / "dc"), "--model", "classical",
                              "--device", "cpu", "--out", str(tmp_path / "out")])
    assert predict.run(args) == 0
    for name in names:
        depth = read_depth_png(tmp_path / "out" / name)
        sparse = read_depth_png(tmp_path / "dc" / "velodyne_raw" / name)
        assert depth.shape == sparse.shape
        # dense from 16 rows above the top LiDAR row down; no estimate (0) above that
        start = max(int(np.flatnonzero((sparse > 0).any(axis=1))[0]) - 16, 0)
        assert (depth[start:] > 0).mean() > 0.9 and not depth[:start].any()
        measured = sparse > 0
        assert np.median(np.abs(depth[measured] - sparse[measured])) < 0.2  # metres
        conf = cv2.imread(str(tmp_path / "out" / "confidence" / name), cv2.IMREAD_UNCHANGED)
        assert conf.dtype == np.uint16 and conf.shape == sparse.shape and conf.max() > 30000
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "2 frames" in line and "ms/frame" in line


def test_models_table_lists_declared_inputs():
    table = models_cli.format_table().splitlines()
    assert table[0].split()[:3] == ["name", "requires", "optional"]
    row = next(r for r in table if r.startswith("classical"))
    assert row.split()[1:5] == ["sparse_depth", "-", "no", "-"]
