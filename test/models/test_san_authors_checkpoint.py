"""The SAN authors' released checkpoint layout (models/san_loading.py): their key list, a
synthetic file in their layout (random values) loaded strictly and run in both modes, code in a
pickle refused without running, keys and shapes that differ named.

The key list below is transcribed from TRI-ML/packnet-sfm, independently of this package's
network: ``PackNetSAN01.__init__`` (ni, n1..n5 = 32, 32, 64, 128, 256, 512; blocks 2, 2, 3, 3;
pack kernels 5, 3, 3, 3, 3; unpack / iconv kernels 3; 4 3D features; dropout 0.5 in
configs/train_packnet_san_kitti.yaml, so every shortcut is ``Sequential(conv, Dropout2d)``),
layers01.py (``Conv2D``: conv_base + normalize; ``ResidualConv``: conv1, conv2, conv3,
normalize; ``PackLayerConv3d``: Conv2D(c * 4 * d, c, k) + Conv3d(1, d, 3); ``UnpackLayerConv3d``:
Conv2D(in, out * 4 // d, k) + Conv3d(1, d, 3); ``InvDepth``: conv1 3x3 to 1), the decoder's
input widths (n1 + ni + 1, n2 + n1 + 1, n3 + n2 + 1, n4 + n3, n5 + n4), minkowski_encoder.py
(``MinkConv2D``: layer3 = conv, BN, ReLU, conv, BN, ReLU, conv; layer2 = conv, BN, ReLU, conv;
layer1 = conv; layer_final = BN, ReLU; kernels 5, 5, 3, 3, 3) and MinkowskiEngine's parameter
layout (``MinkowskiConvolution.kernel`` [k^2, in, out] without bias; ``MinkowskiBatchNorm.bn``, a
BatchNorm1d). Their model wrapper's state dict puts all of it under ``model.depth_net.``.
"""
from __future__ import annotations

import os
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.models.san_loading import (
    authors_model,
    authors_state_dict,
    load_authors_san,
    read_file,
)
from depth_completion_ros.networks.san.packnet import PackNetSAN01Net
from depth_completion_ros.runtime.model_slot import ModelKey, load_models

Shapes = dict[str, tuple[int, ...]]


# --- their key list, transcribed ---------------------------------------------------------------

def _conv2d(p: str, cin: int, cout: int, k: int) -> Shapes:       # layers01.Conv2D
    return {f"{p}.conv_base.weight": (cout, cin, k, k), f"{p}.conv_base.bias": (cout,),
            f"{p}.normalize.weight": (cout,), f"{p}.normalize.bias": (cout,)}


def _conv3d(p: str) -> Shapes:
    return {f"{p}.conv3d.weight": (4, 1, 3, 3, 3), f"{p}.conv3d.bias": (4,)}


def _residual(p: str, cin: int, cout: int) -> Shapes:           # layers01.ResidualConv
    return {**_conv2d(f"{p}.conv1", cin, cout, 3), **_conv2d(f"{p}.conv2", cout, cout, 3),
            f"{p}.conv3.0.weight": (cout, cin, 1, 1), f"{p}.conv3.0.bias": (cout,),
            f"{p}.normalize.weight": (cout,), f"{p}.normalize.bias": (cout,)}


def _me_conv(p: str, cin: int, cout: int, k: int) -> Shapes:     # MinkowskiConvolution
    return {f"{p}.kernel": (k * k, cin, cout)}


def _me_bn(p: str, c: int) -> Shapes:                            # MinkowskiBatchNorm
    return {f"{p}.bn.weight": (c,), f"{p}.bn.bias": (c,), f"{p}.bn.running_mean": (c,),
            f"{p}.bn.running_var": (c,), f"{p}.bn.num_batches_tracked": ()}


def _mink_block(p: str, cin: int, cout: int, k: int) -> Shapes:  # MinkConv2D
    two = 2 * cout
    return {**_me_conv(f"{p}.layer3.0", cin, two, k), **_me_bn(f"{p}.layer3.1", two),
            **_me_conv(f"{p}.layer3.3", two, two, k), **_me_bn(f"{p}.layer3.4", two),
            **_me_conv(f"{p}.layer3.6", two, cout, k),
            **_me_conv(f"{p}.layer2.0", cin, two, k), **_me_bn(f"{p}.layer2.1", two),
            **_me_conv(f"{p}.layer2.3", two, cout, k),
            **_me_conv(f"{p}.layer1.0", cin, cout, k), **_me_bn(f"{p}.layer_final.0", cout)}


def authors_keys() -> Shapes:
    """PackNetSAN01 (version '1A', dropout 0.5): names and shapes, without their prefix."""
    keys: Shapes = {"weight": (5,), "bias": (5,)}
    keys.update(_conv2d("encoder.pre_calc", 3, 32, 5))
    for name, c, k in [("pack1", 32, 5), ("pack2", 64, 3), ("pack3", 128, 3),
                       ("pack4", 256, 3), ("pack5", 512, 3)]:
        keys.update(_conv2d(f"encoder.{name}.conv", c * 4 * 4, c, k))
        keys.update(_conv3d(f"encoder.{name}"))
    keys.update(_conv2d("encoder.conv1", 32, 32, 7))
    for name, cin, cout, blocks in [("conv2", 32, 64, 2), ("conv3", 64, 128, 2),
                                    ("conv4", 128, 256, 3), ("conv5", 256, 512, 3)]:
        for b in range(blocks):
            keys.update(_residual(f"encoder.{name}.{b}", cin if b == 0 else cout, cout))
    for name, cin, cout in [("unpack5", 512, 512), ("unpack4", 512, 256), ("unpack3", 256, 128),
                            ("unpack2", 128, 64), ("unpack1", 64, 32)]:
        keys.update(_conv2d(f"decoder.{name}.conv", cin, cout * 4 // 4, 3))
        keys.update(_conv3d(f"decoder.{name}"))
    for name, cin, cout in [("iconv5", 768, 512), ("iconv4", 384, 256), ("iconv3", 193, 128),
                            ("iconv2", 97, 64), ("iconv1", 65, 32)]:
        keys.update(_conv2d(f"decoder.{name}", cin, cout, 3))
    for name, cin in [("disp4_layer", 256), ("disp3_layer", 128), ("disp2_layer", 64),
                      ("disp1_layer", 32)]:
        keys.update({f"decoder.{name}.conv1.weight": (1, cin, 3, 3),
                     f"decoder.{name}.conv1.bias": (1,)})
    for i, (cin, cout, k) in enumerate([(1, 32, 5), (32, 64, 5), (64, 128, 3), (128, 256, 3),
                                        (256, 512, 3)]):
        keys.update(_mink_block(f"mconvs.mconvs.{i}", cin, cout, k))
    return keys


def test_the_transcription_has_the_348_entries_of_their_file():
    keys = authors_keys()
    assert len(keys) == 348
    assert sum(1 for k in keys if k.startswith("mconvs.")) == 130


def test_the_network_has_exactly_their_names_and_shapes():
    mine = {k: tuple(v.shape) for k, v in PackNetSAN01Net().state_dict().items()}
    theirs = authors_keys()
    assert sorted(set(mine) ^ set(theirs)) == []
    assert {k: v for k, v in mine.items() if theirs[k] != v} == {}


# --- a synthetic file in their layout ----------------------------------------------------------

class _FakeCfgNode(dict):
    """A stand-in for yacs' CfgNode as pickles see it: a dict subclass with attributes in its
    ``__dict__`` (yacs' bookkeeping) and attribute access to its items."""

    def __init__(self, init: dict | None = None) -> None:
        super().__init__({k: _FakeCfgNode(v) if isinstance(v, dict) else v
                          for k, v in (init or {}).items()})
        self.__dict__["__immutable__"] = False
        self.__dict__["__deprecated_keys__"] = set()
        self.__dict__["__renamed_keys__"] = {"EXAMPLE.RENAMED.KEY": ("EXAMPLE.KEY", "note")}
        self.__dict__["__new_allowed__"] = False

    def __getattr__(self, name: str):
        if name in self:
            return self[name]
        raise AttributeError(name)


_FakeCfgNode.__module__, _FakeCfgNode.__qualname__ = "yacs.config", "CfgNode"
_FakeCfgNode.__name__ = "CfgNode"


def _pickled_with_yacs(payload: dict, path: Path) -> Path:
    """torch.save with ``yacs.config`` importable (the fake), removed again afterwards."""
    yacs, config = types.ModuleType("yacs"), types.ModuleType("yacs.config")
    config.CfgNode = _FakeCfgNode
    yacs.config = config
    saved = {name: sys.modules.get(name) for name in ("yacs", "yacs.config")}
    sys.modules.update({"yacs": yacs, "yacs.config": config})
    try:
        torch.save(payload, path)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return path


def _random(shape: tuple[int, ...], g: torch.Generator, key: str) -> torch.Tensor:
    """Random values of ``shape``; big tensors vary over their first and last dims only (a
    stride-0 view: the file stays a few MB instead of 440)."""
    if key.endswith("num_batches_tracked"):
        return torch.tensor(1000)
    if key.endswith(("running_var", "normalize.weight", "bn.weight")):
        return 0.5 + torch.rand(shape, generator=g)
    if len(shape) < 2 or int(np.prod(shape)) <= 4096:
        return 0.1 * torch.randn(shape, generator=g)
    fan_in = int(np.prod(shape)) // (shape[-1] if key.endswith("kernel") else shape[0])
    base = torch.randn(shape[0], shape[-1], generator=g) / fan_in ** 0.5
    return base.as_strided(shape, (shape[-1], *[0] * (len(shape) - 2), 1))


def _state(keys: Shapes, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {f"model.depth_net.{k}": _random(s, g, k) for k, s in keys.items()}
    state["model.depth_net.weight"] = 1.0 + 0.1 * torch.randn(5, generator=g)
    return state


def _payload(state: dict[str, torch.Tensor], *, version: str = "1A",
             name: str = "PackNetSAN01") -> dict:
    config = _FakeCfgNode({
        "name": "PackNetSAN01_HR_sup_K",
        "model": {"name": "SemiSupCompletionModel", "checkpoint_path": "",
                  "depth_net": {"name": name, "version": version, "dropout": 0.5},
                  "params": {"crop": "garg", "min_depth": 0.0, "max_depth": 80.0}},
        "datasets": {"augmentation": {"crop_train_borders": (-352, 0, 0.5, 1216)}}})
    optimizer = {"state": {0: {"step": 100, "exp_avg": torch.zeros(5),
                               "exp_avg_sq": torch.zeros(5)}},
                 "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "eps": 1e-8,
                                   "weight_decay": 0, "amsgrad": False, "params": [0],
                                   "name": "Depth"}]}
    scheduler = {"step_size": 30, "gamma": 0.5, "base_lrs": [1e-4], "last_epoch": 49,
                 "_step_count": 50, "verbose": False, "_get_lr_called_within_step": False,
                 "_last_lr": [2.5e-5]}
    return {"config": config, "epoch": 49, "state_dict": state, "optimizer": optimizer,
            "scheduler": scheduler}


@pytest.fixture(scope="module")
def authors_file(tmp_path_factory) -> Path:
    state = _state(authors_keys())
    state["model.pose_net.conv1.weight"] = torch.zeros(4, 3, 3, 3)   # ignored, noted
    path = tmp_path_factory.mktemp("san") / "PackNetSAN01_HR_sup_K.ckpt"
    return _pickled_with_yacs(_payload(state), path)


def _frame():
    g = np.random.default_rng(3)
    rgb = g.integers(0, 256, (64, 128, 3), dtype=np.uint8)
    sparse = np.zeros((64, 128), np.float32)
    sparse[24::4, ::3] = g.uniform(4.0, 40.0, sparse[24::4, ::3].shape)
    K = np.array([[100.0, 0, 64], [0, 100.0, 32], [0, 0, 1]])
    return rgb, sparse, K


def test_their_file_is_read_without_yacs_and_recognised(authors_file):
    assert "yacs" not in sys.modules
    payload = read_file(authors_file)
    assert "yacs" not in sys.modules
    assert payload["config"]["model"]["depth_net"]["version"] == "1A"
    assert isinstance(payload["config"], OrderedDict)
    state, ignored = authors_state_dict(payload)
    assert len(state) == 348 and ignored == ["model.pose_net.conv1.weight"]


def test_model_san_with_their_file_predicts_in_both_modes(authors_file):
    """``--model san --checkpoint FILE``: the registry builds their network whatever the
    config's backbone (the default is the small ResNet)."""
    model = get_model("san", checkpoint=authors_file, device="cpu")
    assert isinstance(model.engine.module, PackNetSAN01Net)
    note = model.engine.notes[-1]
    assert "SAN authors' layout" in note and "348" in note and "model.pose_net" in note
    rgb, sparse, K = _frame()
    rgb_only = model.predict(rgb, None, K)
    zeros = model.predict(rgb, np.zeros_like(sparse), K)
    completed = model.predict(rgb, sparse, K)
    other = model.predict(rgb, sparse * 0.5, K)
    assert rgb_only.depth.shape == (64, 128) and np.isfinite(rgb_only.depth).all()
    assert float(np.nanmin(rgb_only.depth)) >= 0.5
    np.testing.assert_allclose(zeros.depth, rgb_only.depth, rtol=1e-6)
    assert np.abs(completed.depth - rgb_only.depth).max() > 1e-3
    assert np.abs(other.depth - completed.depth).max() > 1e-4
    assert 0.0 < completed.confidence.min() and completed.confidence.max() <= 1.0


def test_the_node_loads_their_file_as_its_model(authors_file):
    models = load_models(ModelKey("san", checkpoint=str(authors_file), device="cpu",
                                  dropout_model="none"))
    assert isinstance(models.model.engine.module, PackNetSAN01Net)
    rgb, sparse, K = _frame()
    assert np.isfinite(models.model.predict(rgb, sparse, K).depth).all()


def test_the_node_takes_their_file_as_its_dropout_model(authors_file):
    models = load_models(ModelKey("classical", device="cpu", dropout_model="san",
                                  dropout_checkpoint=str(authors_file)))
    assert models.dropout_error == "" and models.dropout_model is not None
    assert isinstance(models.dropout_model.engine.module, PackNetSAN01Net)
    rgb, _, K = _frame()
    assert np.isfinite(models.dropout_model.predict(rgb, None, K).depth).all()


def test_the_loaded_values_are_theirs(authors_file):
    net, _ = load_authors_san(authors_file)
    state = read_file(authors_file)["state_dict"]
    for key in ("weight", "mconvs.mconvs.4.layer3.3.kernel", "encoder.pack5.conv.conv_base.weight"):
        torch.testing.assert_close(net.state_dict()[key], state[f"model.depth_net.{key}"])


def test_a_file_in_another_layout_is_not_theirs(tmp_path):
    assert authors_state_dict({"net": {"a": torch.zeros(1)}}) is None
    assert authors_state_dict({"state_dict": {"model.pose_net.x": torch.zeros(1)}}) is None
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(1)}}, path)
    assert authors_model(path, device="cpu") is None
    with pytest.raises(CheckpointError, match="not in the SAN authors' layout"):
        load_authors_san(path)


# --- refusals ------------------------------------------------------------------------------------

class _RunsCode:
    def __init__(self, func, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("func, named", [(os.system, "system"), (eval, "eval")])
def test_code_in_the_pickle_is_refused_without_running(tmp_path, func, named):
    marker = tmp_path / "ran"
    arg = f"touch {marker}" if func is os.system else \
        f"__import__('pathlib').Path({str(marker)!r}).touch()"
    payload = _payload({"model.depth_net.weight": torch.ones(5)})
    payload["config"]["model"]["hook"] = _RunsCode(func, arg)
    path = _pickled_with_yacs(payload, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match=named) as info:
        load_authors_san(path)
    assert "never unpickles code" in str(info.value)
    assert not marker.exists()


def _written(tmp_path: Path, state: dict[str, torch.Tensor], **config) -> Path:
    return _pickled_with_yacs(_payload(state, **config), tmp_path / "variant.ckpt")


@pytest.fixture(scope="module")
def small_state() -> dict[str, torch.Tensor]:
    """Their keys and shapes, all values zero-stride views of one number (a cheap file)."""
    one = torch.ones(1)
    return {f"model.depth_net.{k}": one.expand(s) if s else torch.tensor(0)
            for k, s in authors_keys().items()}


def test_a_missing_key_is_named(tmp_path, small_state):
    state = dict(small_state)
    del state["model.depth_net.decoder.disp1_layer.conv1.bias"]
    with pytest.raises(CheckpointError, match=r"missing keys: \['decoder.disp1_layer.conv1.bias'"):
        load_authors_san(_written(tmp_path, state))


def test_a_wrong_shape_and_an_unexpected_key_are_named(tmp_path, small_state):
    state = dict(small_state)
    state["model.depth_net.mconvs.mconvs.0.layer1.0.kernel"] = torch.zeros(9, 1, 32)
    state["model.depth_net.uncertainty.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        load_authors_san(_written(tmp_path, state))
    message = str(info.value)
    assert "mconvs.mconvs.0.layer1.0.kernel: checkpoint (9, 1, 32) vs model (25, 1, 32)" in message
    assert "unexpected keys: ['uncertainty.weight']" in message


@pytest.mark.parametrize("config, named", [({"version": "1B"}, "'1B'"),
                                           ({"name": "PackNet01"}, "'PackNet01'")])
def test_another_decoder_or_network_in_their_config_is_refused(tmp_path, small_state, config,
                                                               named):
    with pytest.raises(CheckpointError, match=named):
        load_authors_san(_written(tmp_path, small_state, **config))
