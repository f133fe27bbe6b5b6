"""``depth-completion benchmark --speed``: the learned models' sizes timed without weights, the
table's contents, and clear errors for what cannot be timed. (Timings are printed, never
asserted: speed lives in benchmarks.) The onnxruntime rows: test/engine/test_onnx_runtime.py."""
from __future__ import annotations

import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.engine.speed import describe_config, variant_config
from depth_completion_ros.models import get_entry, list_models


def test_every_learned_model_has_a_small_and_a_full_size():
    learned = [entry for entry in list_models() if entry.network is not None]
    assert {"nlspn", "cspn"} <= {entry.name for entry in learned}
    for entry in learned:
        small, full = variant_config(entry, "small"), variant_config(entry, "full")
        if entry.name == "san":  # the default is the small network of its shipped weights; the
            # paper's PackNet comes with the authors' file, recognised by its layout
            assert small == entry.config_cls() and full.backbone == "packnet01"
            continue
        assert full == entry.config_cls()  # the paper's network is the default config
        if entry.name in ("mspn", "nlspn_refine"):   # the guidance network's width and L
            assert (small.width, small.embed_dim) == (16, 8)
        elif entry.name == "depth_only":   # its own encoder-decoder: the width alone
            assert (small.width, full.width) == (16, 32)
        else:
            assert (small.backbone_depth, small.width) == (18, 16)
    assert describe_config(variant_config(get_entry("cspn"), "small")) == \
        "backbone_depth=18 width=16 prop_time=24"


def test_speed_times_the_small_cspn_on_the_sample(capsys):
    assert main(["benchmark", "--speed", "--models", "cspn", "--variants", "small", "--runs", "2",
                 "--warmup", "1", "--device", "cpu", "--engines", "torch"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("machine: CPU ") and ", load average (" in out[0]
    assert "random weights; 1 untimed then 2 timed predict calls per case; engines torch" in out[1]
    row = out[3].split()
    assert row[:2] == ["cspn", "small"] and row[-6:-4] == ["fp32", "torch"]
    median, p95, fwd_median, fwd_p95 = map(float, row[-4:])
    assert 0 < fwd_median <= median <= p95 and fwd_median <= fwd_p95
    assert out[4].startswith("load average at the end (") and len(out) == 5


def test_half_precision_on_the_cpu_is_timed_in_fp32_and_says_so(capsys):
    assert main(["benchmark", "--speed", "--models", "cspn", "--variants", "small", "--runs", "1",
                 "--warmup", "1", "--device", "cpu", "--precision", "fp16", "--engines",
                 "torch"]) == 0
    row = capsys.readouterr().out.splitlines()[3]
    assert " fp32 " in row and "fp16 requested on cpu: running in fp32" in row


@pytest.mark.parametrize("argv, message", [
    (["--models", "classical"], "model 'classical' is not a learned model"),
    (["--models", "nlspn", "--variants", "huge"], "model 'nlspn' has no size 'huge'"),
    (["--set", "width=8"], "--model-config and --set do not apply"),
    (["--engine", "onnxruntime"], "--engine does not apply"),
])
def test_what_cannot_be_timed_is_one_error_line_before_anything_runs(capsys, argv, message):
    assert main(["benchmark", "--speed", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and message in err


def test_runs_must_be_positive(capsys):
    with pytest.raises(SystemExit) as info:
        main(["benchmark", "--speed", "--runs", "0"])
    assert info.value.code == 2 and "must be >= 1, got 0" in capsys.readouterr().err
