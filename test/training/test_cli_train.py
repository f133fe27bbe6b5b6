"""``depth-completion train``: one error line and exit status 2 on a bad config or data; a tiny
run and its resume end to end."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from depth_completion_ros.cli.main import main


def write(path: Path, mapping: dict) -> Path:
    path.write_text(yaml.safe_dump(mapping))
    return path


@pytest.mark.parametrize(("change", "words"), [
    ({"run": {"max_step": 3}}, "unknown key(s) ['max_step']"),
    ({"data": {"lines": [64]}}, "data.lines"),
    ({"data": {"train": [{"kind": "kitti_raw", "path": "no/such/drive"}]}},
     "kitti_raw folder no/such/drive does not exist"),
])
def test_bad_config_or_data_is_one_line_and_status_2(tmp_path: Path, tiny: Callable[..., dict],
                                                     capsys: pytest.CaptureFixture[str],
                                                     change: dict, words: str):
    config = write(tmp_path / "bad.yaml", tiny(**change))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("depth-completion train: error: ")
    assert words in err[0]


def test_bad_set_and_missing_config(tmp_path: Path, tiny: Callable[..., dict],
                                    capsys: pytest.CaptureFixture[str]):
    config = write(tmp_path / "ok.yaml", tiny())
    assert main(["train", "--config", str(config), "--set", "run.max_steps"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "give --config FILE" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "cannot read training config" in capsys.readouterr().err


def test_train_then_resume(tmp_path: Path, tiny: Callable[..., dict],
                           capsys: pytest.CaptureFixture[str]):
    config = write(tmp_path / "tiny.yaml", tiny())
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--set", "run.max_steps=2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cspn (small) 2 steps (stopped by max_steps)" in printed
    assert (out / "last.pt").is_file() and "no validation" in printed
    assert main(["train", "--resume", str(out), "--set", "run.max_steps=3"]) == 0
    assert "3 steps" in capsys.readouterr().out
    with (out / "log.csv").open() as stream:
        assert [line.split(",")[0] for line in stream] == ["step", "1", "2", "3"]
