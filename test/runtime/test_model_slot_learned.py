"""The node's model slot with each learned model: a request without weights fails with the message
and the old model keeps serving; with a checkpoint (and a model preset) the model serves, on the
CPU in fp32 when half precision was asked for."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.models import get_entry
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.registry import build_config
from depth_completion_ros.runtime.model_slot import ModelKey, ModelSlot

TINY = {"backbone_depth": 18, "width": 8, "prop_time": 2}


def _small(folder: Path, model: str) -> tuple[Path, Path]:
    """A format-2 checkpoint of a tiny network and the model preset that builds the same one."""
    entry = get_entry(model)
    assert entry.network is not None
    torch.manual_seed(0)
    net = entry.network.build(build_config(entry.config_cls, TINY, source="test"))
    meta = CheckpointMeta(model=model, config={"backbone_depth": 18, "width": 8},
                          training_data="none (test)", input_spec=entry.network.input_spec,
                          data_license="CC0")
    checkpoint = save_checkpoint(folder / f"{model}_small.pt", net, meta)
    preset = folder / f"{model}_small.yaml"
    preset.write_text(f"model: {model}\nconfig:\n  backbone_depth: 18\n  width: 8\n"
                      f"  prop_time: 2\n")
    return checkpoint, preset


@pytest.mark.parametrize("model", ["nlspn", "cspn"])
def test_without_weights_keeps_the_old_model_then_serves_with_a_checkpoint(tmp_path, model):
    slot = ModelSlot()
    try:
        slot.load_now(ModelKey("classical"))
        slot.request(ModelKey(model, device="cpu"))
        assert slot.wait_idle(30)
        assert slot.current is not None and slot.current.key.model == "classical"
        assert slot.last_error is not None and "has no weights" in slot.last_error
        checkpoint, preset = _small(tmp_path, model)
        key = ModelKey(model, checkpoint=str(checkpoint), device="cpu", precision="fp16",
                       model_config=str(preset))
        slot.request(key)
        assert slot.wait_idle(60)
        assert slot.current is not None and slot.current.key == key and slot.last_error is None
        served = slot.current.model
        assert "fp16 requested on cpu: running in fp32" in served.engine.notes
        out = served.predict(np.zeros((24, 40, 3), np.uint8), np.full((24, 40), 8.0, np.float32),
                             np.eye(3))
        assert out.depth.shape == (24, 40) and np.isfinite(out.depth).all()
    finally:
        slot.close()
