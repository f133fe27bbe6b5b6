"""``--model-config``, ``--set`` and ``--precision`` of predict, evaluate and benchmark."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.cli import benchmark
from depth_completion_ros.cli.main import main
from depth_completion_ros.io.depth_png import read_depth_png
from depth_completion_ros.io.kitti_dc import list_depth_selection
from depth_completion_ros.models import get_model
from depth_completion_ros.paths import config_dir

NEAREST_PRESET = config_dir() / "models" / "nearest.yaml"


def _predict(folder: Path, out: Path, *extra: str) -> int:
    return main(["predict", "--kitti-dc", str(folder), "--model", "classical", "--device", "cpu",
                 "--out", str(out), *extra])


def _depths(out: Path, names: list[str]) -> list[np.ndarray]:
    return [read_depth_png(out / name) for name in names]


def test_predict_set_reaches_the_model_and_a_preset_gives_the_same(tmp_path: Path,
                                                                   make_folder) -> None:
    names = make_folder(tmp_path / "dc")
    assert _predict(tmp_path / "dc", tmp_path / "default") == 0
    assert _predict(tmp_path / "dc", tmp_path / "set", "--set", "blur_px=9",
                    "--precision", "bf16") == 0  # learning-free: precision accepted, ignored
    preset = tmp_path / "blur9.yaml"
    preset.write_text("model: classical\nconfig:\n  blur_px: 5\n  median_px: 5\n")
    assert _predict(tmp_path / "dc", tmp_path / "preset", "--model-config", str(preset),
                    "--set", "blur_px=9", "--set", "median_px=3") == 0
    model = get_model("classical", {"blur_px": 9})
    for sample, name, got, via_preset, default in zip(
            list_depth_selection(tmp_path / "dc"), names, _depths(tmp_path / "set", names),
            _depths(tmp_path / "preset", names), _depths(tmp_path / "default", names)):
        assert sample.sparse_path.name == name
        frame = sample.load()
        expected = np.nan_to_num(model.predict(frame.rgb, frame.sparse, frame.K).depth, nan=0.0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1 / 256)  # 16-bit PNG step
        np.testing.assert_array_equal(via_preset, got)
        assert np.abs(got - default).max() > 0.1  # metres: the override changed the output


@pytest.mark.parametrize("extra, message", [
    (["--set", "blur=9"], "config of model 'classical' (overrides): unknown key(s) ['blur']; "
                          "valid keys: ['blur_px', "),
    (["--set", "blur_px"], "--set 'blur_px': expected KEY=VALUE"),
    (["--set", "blur_px=8"], "blur_px must be 0 or a positive odd number, got 8"),
    (["--model-config", str(NEAREST_PRESET)], "nearest.yaml is for model 'nearest', not "
                                              "'classical'"),
])
def test_predict_bad_config_is_one_error_line_before_anything_is_written(
        tmp_path: Path, make_folder, capsys: pytest.CaptureFixture, extra: list[str],
        message: str) -> None:
    make_folder(tmp_path / "dc")
    assert _predict(tmp_path / "dc", tmp_path / "out", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("depth-completion predict: error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_unknown_precision_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--kitti-dc", "dc", "--out", "out", "--precision", "fp64"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'fp64' (choose from" in capsys.readouterr().err


class _Captured(Exception):
    """Stops ``run_evaluation`` and carries the request it was given."""


def test_evaluate_passes_config_and_precision_in_the_request(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from depth_completion_ros.evaluation import session

    def capture(request: session.EvaluationRequest, *_: object, **__: object) -> None:
        raise _Captured(request)

    monkeypatch.setattr(session, "run_evaluation", capture)
    preset = tmp_path / "mine.yaml"
    preset.write_text("model: classical\nconfig:\n  median_px: 5\n")
    with pytest.raises(_Captured) as captured:
        main(["evaluate", "bag", "--model", "classical", "--heldout-beams", "--report",
              str(tmp_path / "r"), "--model-config", str(preset), "--set", "blur_px=9",
              "--precision", "fp16", "--dropout-model", "nearest"])
    request = captured.value.args[0]
    assert dict(request.model_config) == {"median_px": 5, "blur_px": 9}
    assert request.precision == "fp16" and request.dropout_model == "nearest"


def test_evaluation_builds_the_model_with_its_config_and_the_dropout_model_with_defaults(
        ) -> None:
    from depth_completion_ros.evaluation.session import EvaluationRequest, _dropout, _model
    from depth_completion_ros.models.classical import ClassicalConfig
    from depth_completion_ros.models.nearest import NearestConfig

    request = EvaluationRequest(Path("bag"), "classical", Path("report"),
                                dropout_model="nearest", model_config={"blur_px": 9},
                                precision="bf16")
    assert _model(request.model, request).config == ClassicalConfig(blur_px=9)
    assert _dropout(request).config == NearestConfig()  # blur_px is not a nearest key
    assert _model("classical", EvaluationRequest(Path("b"), "classical", Path("r"))).config \
        == ClassicalConfig()


@pytest.mark.parametrize("extra, message", [
    (["--set", "blur=9"], "unknown key(s) ['blur']; valid keys: ['blur_px', "),
    (["--online", "--set", "blur=9"], "unknown key(s) ['blur']; valid keys: ['blur_px', "),
    (["--model-config", str(NEAREST_PRESET)], "is for model 'nearest', not 'classical'"),
])
def test_evaluate_bad_config_fails_before_the_bag_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str) -> None:
    code = main(["evaluate", str(tmp_path / "no_such_bag"), "--model", "classical",
                 "--heldout-beams", "--report", str(tmp_path / "r"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert "no_such_bag" not in err and not (tmp_path / "r").exists()


def _benchmark_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    benchmark.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_benchmark_preset_goes_to_its_model_and_set_to_every_model(tmp_path: Path) -> None:
    preset = tmp_path / "near.yaml"
    preset.write_text("model: nearest\nconfig:\n  confidence_scale_px: 4.0\n")
    args = _benchmark_args("--models", "classical", "nearest", "--model-config", str(preset),
                           "--set", "min_depth=0.5")
    assert benchmark._configs(args) == {
        "classical": {"min_depth": 0.5},
        "nearest": {"confidence_scale_px": 4.0, "min_depth": 0.5}}


def test_benchmark_set_changes_the_scores(capsys: pytest.CaptureFixture) -> None:
    assert main(["benchmark", "--models", "classical", "--device", "cpu"]) == 0
    default = capsys.readouterr().out
    assert main(["benchmark", "--models", "classical", "--device", "cpu",
                 "--set", "blur_px=9"]) == 0
    tuned = capsys.readouterr().out
    assert default.split("median")[0] != tuned.split("median")[0]  # RMSE / MAE differ


@pytest.mark.parametrize("extra, message", [
    (["--models", "classical", "nearest", "--set", "blur_px=9"],
     "config of model 'nearest' (overrides): unknown key(s) ['blur_px']"),
    (["--models", "classical", "--model-config", str(NEAREST_PRESET)],
     "is a preset of model 'nearest', which is not in --models ['classical']"),
])
def test_benchmark_bad_config_is_an_error(capsys: pytest.CaptureFixture, extra: list[str],
                                          message: str) -> None:
    assert main(["benchmark", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
