"""The node's model slot with the learned model: a request without weights fails with the message
and the old model keeps serving; with a checkpoint (and a model preset) nlspn serves, on the CPU
in fp32 when half precision was asked for."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.nlspn import INPUT_SPEC
from depth_completion_ros.networks.nlspn import NLSPNNet
from depth_completion_ros.runtime.model_slot import ModelKey, ModelSlot


def _small(folder: Path) -> tuple[Path, Path]:
    """A format-2 checkpoint of a tiny NLSPN and the model preset that builds the same network."""
    torch.manual_seed(0)
    meta = CheckpointMeta(model="nlspn", config={"backbone_depth": 18, "width": 8},
                          training_data="none (test)", input_spec=INPUT_SPEC, data_license="CC0")
    checkpoint = save_checkpoint(folder / "nlspn_small.pt", NLSPNNet(18, 8, prop_time=2), meta)
    preset = folder / "nlspn_small.yaml"
    preset.write_text("model: nlspn\nconfig:\n  backbone_depth: 18\n  width: 8\n  prop_time: 2\n")
    return checkpoint, preset


def test_nlspn_without_weights_keeps_the_old_model_then_serves_with_a_checkpoint(tmp_path):
    slot = ModelSlot()
    try:
        slot.load_now(ModelKey("classical"))
        slot.request(ModelKey("nlspn", device="cpu"))
        assert slot.wait_idle(30)
        assert slot.current is not None and slot.current.key.model == "classical"
        assert slot.last_error is not None and "has no weights" in slot.last_error
        checkpoint, preset = _small(tmp_path)
        key = ModelKey("nlspn", checkpoint=str(checkpoint), device="cpu", precision="fp16",
                       model_config=str(preset))
        slot.request(key)
        assert slot.wait_idle(60)
        assert slot.current is not None and slot.current.key == key and slot.last_error is None
        model = slot.current.model
        assert "fp16 requested on cpu: running in fp32" in model.engine.notes
        out = model.predict(np.zeros((24, 40, 3), np.uint8), np.full((24, 40), 8.0, np.float32),
                            np.eye(3))
        assert out.depth.shape == (24, 40) and np.isfinite(out.depth).all()
    finally:
        slot.close()
