"""``depth-completion predict --model nlspn``: a format-2 checkpoint of the small variant through
the CLI (config by --set, precision fallback printed), and the authors' file named as such."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.cli.main import main
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.nlspn import INPUT_SPEC
from depth_completion_ros.networks.nlspn import NLSPNNet

SMALL = ("--set", "backbone_depth=18", "--set", "width=8", "--set", "prop_time=2")


def _checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    net = NLSPNNet(18, 8, prop_time=2)
    meta = CheckpointMeta(model="nlspn", config={"backbone_depth": 18, "width": 8},
                          training_data="none (test)", input_spec=INPUT_SPEC,
                          data_license="CC0")
    return save_checkpoint(folder / "nlspn_small.pt", net, meta)


def test_predict_runs_the_small_variant_and_prints_the_precision_note(
        tmp_path: Path, make_folder, capsys: pytest.CaptureFixture) -> None:
    names = make_folder(tmp_path / "dc")
    code = main(["predict", "--kitti-dc", str(tmp_path / "dc"), "--model", "nlspn",
                 "--checkpoint", str(_checkpoint(tmp_path)), *SMALL, "--device", "cpu",
                 "--precision", "fp16", "--out", str(tmp_path / "out")])
    assert code == 0
    captured = capsys.readouterr()
    assert "predict: note: fp16 requested on cpu: running in fp32" in captured.err
    assert "model nlspn, 2 frames" in captured.out
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(names)
    depth = read_depth_png(tmp_path / "out" / names[0])
    assert depth.shape == (375, 1242)
    assert (depth[:23] == 0).all() and (depth[:, :13] == 0).all()  # outside the 1216x352 crop


def test_predict_names_the_authors_format(tmp_path: Path, make_folder,
                                          capsys: pytest.CaptureFixture) -> None:
    """The small variant saved the authors' way (``{'net': state_dict}``): loaded, named, legacy
    offsets on."""
    make_folder(tmp_path / "dc")
    torch.manual_seed(0)
    path = tmp_path / "authors.pt"
    torch.save({"net": NLSPNNet(18, 8, prop_time=2).state_dict()}, path)
    code = main(["predict", "--kitti-dc", str(tmp_path / "dc"), "--model", "nlspn",
                 "--checkpoint", str(path), *SMALL, "--device", "cpu",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    err = capsys.readouterr().err
    assert "in the NLSPN authors' format ({'net': state_dict}): legacy offsets on" in err
    assert np.isfinite(read_depth_png(tmp_path / "out" / sorted(
        p.name for p in (tmp_path / "out").glob("*.png"))[0])).all()
