"""Completion / prediction models behind one registry.

Each model module is imported here explicitly, so importing this package registers every model;
nothing depends on an import side effect elsewhere.
"""
from __future__ import annotations

from depth_completion_ros.models import (  # noqa: F401  (register)
    classical,
    cspn,
    depth_only,
    ip_basic,
    mspn,
    nearest,
    nlspn,
    nlspn_refine,
    san,
)
from depth_completion_ros.models.base import CompletionOutput, DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.mspn import mspn_propagate
from depth_completion_ros.models.registry import (
    LearnedNetwork,
    ModelEntry,
    get_entry,
    get_model,
    list_models,
    load_preset,
    register_model,
    temporary_model,
)
from depth_completion_ros.models.weights import InputSpec, WeightsSpec

__all__ = ["CompletionOutput", "DepthModel", "InputSpec", "LearnedNetwork", "ModelEntry",
           "ModelInput", "ModelSpec", "WeightsSpec", "get_entry", "get_model", "list_models",
           "load_preset", "mspn_propagate", "register_model", "temporary_model"]
