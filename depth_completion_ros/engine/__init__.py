"""Inference engine for torch models: device / precision / warm-up / timing, the batched
preprocessing shared with training, and the adapter that turns an ``nn.Module`` into a
:class:`~depth_completion_ros.models.base.DepthModel`."""
from __future__ import annotations

from depth_completion_ros.engine.adapter import TorchModelAdapter, torch_model_factory
from depth_completion_ros.engine.device import select_device, select_dtype
from depth_completion_ros.engine.inference import InferenceEngine, StageTimer
from depth_completion_ros.engine.preprocess import InputSpec, Preprocessor

__all__ = ["InferenceEngine", "InputSpec", "Preprocessor", "StageTimer", "TorchModelAdapter",
           "select_device", "select_dtype", "torch_model_factory"]
