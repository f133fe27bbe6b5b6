"""One-file checkpoints: weights plus the metadata needed to trust them, loaded strictly.

A checkpoint is ``torch.save`` of a plain dict (so it loads with ``weights_only=True``)::

    {"format": "depth_completion_ros.checkpoint", "format_version": 2,
     "model": "nlspn", "config": {...}, "training_data": "...", "protocol": "...",
     "input_spec": {"crop_width": 1216, "crop_height": 352, "stride": 16, "rgb_mean": [...],
                    "rgb_std": [...], "depth_scale": 1.0},
     "metrics": {"rmse_m": ...}, "data_license": "CC BY-NC-SA 3.0",
     "state_dict": {name: tensor}}

The input spec (:class:`~depth_completion_ros.models.weights.InputSpec`) is stored here and only
here; the loader compares it with the spec the model's builder expects. The loader checks the
marker and version, the model name, the input spec, then every key and shape of the state dict
and raises :class:`~depth_completion_ros.errors.CheckpointError` listing exactly what is missing,
unexpected or of the wrong shape. There is no ``strict=False`` path.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from depth_completion_ros.errors import CheckpointError, ConfigError
from depth_completion_ros.models.weights import InputSpec

FORMAT_MARKER = "depth_completion_ros.checkpoint"
#: 2: ``input_spec`` (crop, normalisation, stride, depth scale) replaces 1's ``input_crop``.
FORMAT_VERSION = 2
_META_KEYS = ("model", "config", "training_data", "protocol", "input_spec", "metrics",
              "data_license")


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about itself.

    Attributes:
        model: registry name of the model the weights belong to.
        config: the model config (plain mapping) the weights were trained with.
        training_data: data set(s) and split, e.g. "KITTI raw 2011_09_26_drive_0009 frames 0-50".
        protocol: training / evaluation protocol, e.g. "held-out beams 64->32".
        input_spec: crop, RGB normalisation, stride and depth scale the weights were
            trained with (the one stored copy).
        metrics: measured scores, name -> value (units in the name, e.g. "rmse_m").
        data_license: license of the training data (weights inherit it).
        format_version: checkpoint format version.
    """

    model: str
    config: dict[str, Any] = field(default_factory=dict)
    training_data: str = ""
    protocol: str = ""
    input_spec: InputSpec = InputSpec()
    metrics: dict[str, float] = field(default_factory=dict)
    data_license: str = ""
    format_version: int = FORMAT_VERSION


def save_checkpoint(path: str | Path, module: nn.Module, meta: CheckpointMeta) -> Path:
    """Write ``module``'s weights and ``meta`` to one file; returns the path."""
    path = Path(path)
    payload = {key: getattr(meta, key) for key in _META_KEYS}
    payload["input_spec"] = meta.input_spec.as_dict()
    payload.update(format=FORMAT_MARKER, format_version=FORMAT_VERSION,
                   state_dict={k: v.detach().cpu() for k, v in module.state_dict().items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def read_checkpoint(path: str | Path) -> tuple[CheckpointMeta, dict[str, torch.Tensor]]:
    """Read and validate a checkpoint file's structure (not yet against a model).

    Raises:
        CheckpointError: missing, unreadable / truncated, not a checkpoint, wrong version,
            malformed metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError / UnpicklingError / EOFError ...
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not a torch "
                              f"file): {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_MARKER:
        raise CheckpointError(f"{path} is not a depth_completion_ros checkpoint "
                              f"(no 'format': {FORMAT_MARKER!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path}: format_version "
                              f"{payload.get('format_version')!r}, this code reads "
                              f"{FORMAT_VERSION}")
    return _meta_from_payload(payload, path), _state_from_payload(payload, path)


def _meta_from_payload(payload: dict[str, Any], path: Path) -> CheckpointMeta:
    missing = [key for key in _META_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path}: metadata key(s) missing: {missing}")
    try:
        return CheckpointMeta(
            model=str(payload["model"]), config=dict(payload["config"]),
            training_data=str(payload["training_data"]), protocol=str(payload["protocol"]),
            input_spec=InputSpec.from_dict(payload["input_spec"]),
            metrics={str(k): float(v) for k, v in dict(payload["metrics"]).items()},
            data_license=str(payload["data_license"]), format_version=FORMAT_VERSION)
    except (TypeError, ValueError, ConfigError) as err:
        raise CheckpointError(f"checkpoint {path}: malformed metadata: {err}") from err


def _state_from_payload(payload: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise CheckpointError(f"checkpoint {path}: 'state_dict' is not a name -> tensor mapping")
    return state


def check_state_dict(module: nn.Module, state: dict[str, torch.Tensor], *, source: str) -> None:
    """Raise CheckpointError listing missing, unexpected and shape-mismatched keys (if any)."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{key}: checkpoint {tuple(state[key].shape)} vs model "
              f"{tuple(expected[key].shape)}"
              for key in sorted(set(expected) & set(state))
              if state[key].shape != expected[key].shape]
    problems = [f"{label}: {items}" for label, items in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches", shapes)) if items]
    if problems:
        raise CheckpointError(f"{source} does not match the model: " + "; ".join(problems))


def load_checkpoint(path: str | Path, module: nn.Module, *, model_name: str,
                    input_spec: InputSpec) -> CheckpointMeta:
    """Load a checkpoint into ``module`` strictly; returns its metadata.

    Args:
        path: checkpoint file.
        module: the network to fill (same architecture as when saved).
        model_name: registry name the checkpoint must declare.
        input_spec: what the model's builder expects; the stored spec must equal it.

    Raises:
        CheckpointError: see :func:`read_checkpoint` and :func:`check_state_dict`; also when
            the checkpoint belongs to another model or was trained on another input spec.
    """
    meta, state = read_checkpoint(path)
    apply_checkpoint(meta, state, module, path=path, model_name=model_name,
                     input_spec=input_spec)
    return meta


def apply_checkpoint(meta: CheckpointMeta, state: dict[str, torch.Tensor], module: nn.Module,
                     *, path: str | Path, model_name: str, input_spec: InputSpec) -> None:
    """Check what :func:`read_checkpoint` returned against a model and load it strictly.

    Raises:
        CheckpointError: another model, another input spec, or keys / shapes that differ.
    """
    if meta.model != model_name:
        raise CheckpointError(f"checkpoint {path} is for model {meta.model!r}, "
                              f"not {model_name!r}")
    differences = meta.input_spec.differences(input_spec)
    if differences:
        raise CheckpointError(f"checkpoint {path}: input spec differs from what model "
                              f"{model_name!r} expects (checkpoint vs model): "
                              + "; ".join(differences))
    check_state_dict(module, state, source=f"checkpoint {path}")
    module.load_state_dict(state, strict=True)


def check_architecture(config: Any, stored: Mapping[str, Any], keys: tuple[str, ...], *,
                       path: str | Path) -> None:
    """Refuse a checkpoint whose stored config differs from ``config`` on a field that shapes
    the weights, saying which ``--set`` options build the checkpoint's network.

    Args:
        config: the requested model config (a dataclass).
        stored: the checkpoint's stored config.
        keys: the config fields that change the weights' shapes.
        path: the checkpoint (for the message).

    Raises:
        CheckpointError: a field of ``keys`` differs.
    """
    differing = [f"{key}={stored[key]!r} (config: {getattr(config, key)!r})"
                 for key in keys if key in stored and stored[key] != getattr(config, key)]
    if differing:
        sets = " ".join(f"--set {key}={stored[key]}" for key in keys if key in stored)
        raise CheckpointError(f"checkpoint {path} was trained with {', '.join(differing)}; "
                              f"build the same network ({sets})")
