"""Checkpoints: round trip and every way a file can fail to match."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.models.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from depth_completion_ros.models.weights import InputSpec

INPUT = InputSpec(crop=KITTI_CROP, stride=16, depth_scale=80.0)
META = CheckpointMeta(model="tiny", config={"width": 4}, training_data="KITTI raw 0009",
                      protocol="held-out beams 32", input_spec=INPUT,
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
    meta = load_checkpoint(path, dst, model_name="tiny", input_spec=INPUT)
    assert meta == META
    for a, b in zip(src.state_dict().values(), dst.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_wrong_model_name(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    with pytest.raises(CheckpointError, match="for model 'tiny', not 'other'"):
        load_checkpoint(path, tiny(), model_name="other", input_spec=INPUT)


def test_input_spec_other_than_the_builder_expects_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    expected = InputSpec(crop=KITTI_CROP, stride=8, depth_scale=80.0)
    with pytest.raises(CheckpointError, match=r"input spec differs from what model 'tiny' "
                                              r"expects \(checkpoint vs model\): stride: 16 vs 8"):
        load_checkpoint(path, tiny(), model_name="tiny", input_spec=expected)


def test_malformed_input_spec_is_a_checkpoint_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    payload = torch.load(path, weights_only=True)
    payload["input_spec"]["stride"] = 0
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="malformed metadata.*stride must be >= 1"):
        read_checkpoint(path)
    del payload["input_spec"]["rgb_std"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="malformed metadata.*expected keys"):
        read_checkpoint(path)


def test_version_1_checkpoints_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="format_version 1, this code reads 2"):
        read_checkpoint(path)


def test_shape_mismatch_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(4), META)
    with pytest.raises(CheckpointError, match=r"0\.weight: checkpoint \(4, 2, 3, 3\) vs model "
                                              r"\(8, 2, 3, 3\)"):
        load_checkpoint(path, tiny(8), model_name="tiny", input_spec=INPUT)


def test_missing_and_unexpected_keys_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny(), META)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["extra.weight"] = payload["state_dict"].pop("2.bias")
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"missing keys: \['2\.bias'\].*unexpected keys: "
                                              r"\['extra\.weight'\]"):
        load_checkpoint(path, tiny(), model_name="tiny", input_spec=INPUT)


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
