"""Device and precision selection for torch models, with notes instead of silent changes."""
from __future__ import annotations

from typing import TypeVar

import torch

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import InputError, ModelError

_Choice = TypeVar("_Choice", Device, Precision)

DTYPES: dict[Precision, torch.dtype] = {Precision.FP32: torch.float32,
                                        Precision.FP16: torch.float16,
                                        Precision.BF16: torch.bfloat16}


def select_device(requested: Device | str, notes: list[str]) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda`` without CUDA falls back to CPU.

    Args:
        requested: a :class:`~depth_completion_ros.devices.Device` or its value.
        notes: a fallback is appended here as one sentence (the engine exposes them).

    Raises:
        ModelError: unknown device name.
    """
    device = _parse(Device, requested)
    if device is Device.CPU:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if device is Device.CUDA:
        notes.append("CUDA requested but not available: running on CPU")
    return torch.device("cpu")


def select_dtype(precision: Precision | str, device: torch.device,
                 notes: list[str]) -> torch.dtype:
    """fp32 anywhere; fp16 / bf16 only on CUDA (CPU falls back to fp32 with a note).

    Raises:
        ModelError: unknown precision name.
    """
    choice = _parse(Precision, precision)
    if choice is not Precision.FP32 and device.type != "cuda":
        notes.append(f"{choice} requested on {device.type}: running in fp32")
        return torch.float32
    return DTYPES[choice]


def _parse(kind: type[_Choice], value: object) -> _Choice:
    """``kind.parse(value)`` with the engine's error type (ModelError)."""
    try:
        return kind(kind.parse(value))
    except InputError as err:
        raise ModelError(str(err)) from err
