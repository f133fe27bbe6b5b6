"""Checkpoints: round trip and every way a file can fail to match."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models.checkpoint import (
    CheckpointMeta, load_checkpoint, read_checkpoint, save_checkpoint)

META = CheckpointMeta(model="tiny", config={"width": 4}, training_data="KITTI raw 0009",
                      protocol="held-out beams 32", input_crop=(1216, 352),
                      metrics={"rmse_m": 1.5}, data_license="CC BY-NC-SA 3.0")


def tiny(width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, width, 3), nn.ReLU(), nn.Conv2d(width, 1, 1))


def test_round_trip_restores_weights_and_metadata(tmp_path):
    src = tiny()
    path = save_checkpoint(tmp_path / "m.pt", src, META)
    dst = tiny()
    with torch.no_grad():
        for p in dst.parameters():
            p.zero_()
    meta = load_checkpoint(path, dst, model_name="tiny")
    assert meta == META
    for a, b in zip(src.state_dict().values(), dst.state_dict().values()):
        assert torch.equal(a, b)


def test_wrong_model_name(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    with pytest.raises(CheckpointError, match="for model 'tiny', not 'other'"):
        load_checkpoint(path, tiny(), model_name="other")


def test_shape_mismatch_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(4), META)
    with pytest.raises(CheckpointError, match=r"0\.weight: checkpoint \(4, 2, 3, 3\) vs model "
                                              r"\(8, 2, 3, 3\)"):
        load_checkpoint(path, tiny(8), model_name="tiny")


def test_missing_and_unexpected_keys_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["extra.weight"] = payload["state_dict"].pop("2.bias")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"missing keys: \['2\.bias'\].*unexpected keys: "
                                              r"\['extra\.weight'\]"):
        load_checkpoint(path, tiny(), model_name="tiny")


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="unreadable"):
        read_checkpoint(text)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(1)}, plain)
    with pytest.raises(CheckpointError, match="not a depth_completion_ros checkpoint"):
        read_checkpoint(plain)


def test_truncated_and_missing_file(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="unreadable"):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "absent.pt")
