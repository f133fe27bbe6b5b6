"""Inference engine for torch models: device / precision / warm-up / timing, and the adapter
that turns an ``nn.Module`` into a :class:`~depth_completion_ros.models.base.DepthModel`."""
from __future__ import annotations

from depth_completion_ros.engine.adapter import TorchInputConfig, TorchModelAdapter
from depth_completion_ros.engine.device import select_device, select_dtype
from depth_completion_ros.engine.inference import InferenceEngine, StageTimer

__all__ = ["InferenceEngine", "StageTimer", "TorchInputConfig", "TorchModelAdapter",
           "select_device", "select_dtype"]
