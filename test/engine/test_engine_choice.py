"""The ``engine`` choice without onnxruntime's help: an unknown engine, a missing package and a
learning-free model are clear errors or no-ops (the parity of the onnxruntime engine itself:
test_onnx_runtime.py, skipped without onnxruntime)."""
from __future__ import annotations

import sys

import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.engine.onnx_export import require
from depth_completion_ros.errors import ModelError
from depth_completion_ros.models import get_model
from depth_completion_ros.models.engine_choice import with_engine

TINY = {"backbone_depth": 18, "width": 8, "prop_time": 2}


def test_an_unknown_engine_is_a_model_error_listing_the_engines():
    with pytest.raises(ModelError, match=r"model 'classical': engine: expected one of "
                                         r"\['torch', 'onnxruntime'\], got 'tensorrt'"):
        with_engine(get_model("classical"), "tensorrt")


def test_an_unknown_engine_on_the_command_line_is_refused_by_its_choices(capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "--kitti-dc", "x", "--out", "y", "--engine", "tensorrt"])
    assert info.value.code == 2
    assert "--engine: invalid choice: 'tensorrt'" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_learning_free_models_ignore_the_engine(engine):
    model = get_model("nearest")
    assert with_engine(model, engine) is model


def test_torch_keeps_the_learned_model_as_built(tmp_path, learned_checkpoint):
    model = get_model("cspn", TINY, checkpoint=learned_checkpoint("cspn", tmp_path / "c.pt", TINY),
                      device="cpu")
    assert with_engine(model, "torch") is model


def test_without_onnxruntime_the_error_names_the_install_command(tmp_path, learned_checkpoint,
                                                                  monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(ModelError, match=r"needs the onnxruntime package, which is not "
                                         r"installed here: pip install onnx onnxruntime"):
        require("onnxruntime")
    model = get_model("cspn", TINY, checkpoint=learned_checkpoint("cspn", tmp_path / "c.pt", TINY),
                      device="cpu")
    with pytest.raises(ModelError, match="pip install onnx onnxruntime"):
        with_engine(model, "onnxruntime")


def test_exporting_a_learning_free_model_is_one_error_line(capsys, tmp_path):
    assert main(["export", "--model", "classical", "--out", str(tmp_path / "c.onnx")]) == 2
    err = capsys.readouterr().err
    assert err == ("depth-completion export: error: model 'classical' is not a learned model: "
                   "it has no network to export\n")
    assert not (tmp_path / "c.onnx").exists()


def test_mspn_is_not_supported_because_its_start_comes_from_another_model(tmp_path, capsys,
                                                                           learned_checkpoint):
    tiny = {"width": 8, "embed_dim": 4, "min_iterations": 2, "second_iterations": 2,
            "max_iterations": 2}
    path = learned_checkpoint("mspn", tmp_path / "mspn.pt", tiny)
    model = get_model("mspn", tiny, checkpoint=path, device="cpu")
    with pytest.raises(ModelError, match=r"model 'mspn' is not supported by the ONNX export and "
                                         r"the onnxruntime engine: its network refines another "
                                         r"model's depth \(D0\)"):
        with_engine(model, "onnxruntime")
    argv = [f"--set={key}={value}" for key, value in tiny.items()]
    assert main(["export", "--model", "mspn", "--checkpoint", str(path), *argv,
                 "--out", str(tmp_path / "mspn.onnx")]) == 2
    assert "is not supported by the ONNX export" in capsys.readouterr().err
