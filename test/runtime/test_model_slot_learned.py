"""The node's model slot with each learned model: a request without weights fails with the message
and the old model keeps serving; with a checkpoint (and a model preset) the model serves, on the
CPU in fp32 when half precision was asked for."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.runtime.model_slot import ModelKey, ModelSlot

TINY = {"backbone_depth": 18, "width": 8, "prop_time": 2}


def _preset(folder: Path, model: str) -> Path:
    """The model preset that builds the tiny network of :data:`TINY`."""
    preset = folder / f"{model}_small.yaml"
    preset.write_text(f"model: {model}\nconfig:\n"
                      + "".join(f"  {key}: {value}\n" for key, value in TINY.items()))
    return preset


@pytest.mark.parametrize("model", ["nlspn", "cspn"])
def test_without_weights_keeps_the_old_model_then_serves_with_a_checkpoint(tmp_path, model,
                                                                          learned_checkpoint):
    slot = ModelSlot()
    try:
        slot.load_now(ModelKey("classical"))
        slot.request(ModelKey(model, device="cpu"))
        assert slot.wait_idle(30)
        assert slot.current is not None and slot.current.key.model == "classical"
        assert slot.last_error is not None and "has no weights" in slot.last_error
        checkpoint = learned_checkpoint(model, tmp_path / f"{model}_small.pt", TINY)
        preset = _preset(tmp_path, model)
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
