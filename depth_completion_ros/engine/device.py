"""Device and precision selection for torch models, with notes instead of silent changes."""
from __future__ import annotations

import torch

from depth_completion_ros.errors import ModelError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def select_device(requested: str, notes: list[str]) -> torch.device:
    """``auto`` -> CUDA when available else CPU; ``cuda`` without CUDA falls back to CPU.

    Args:
        requested: "auto", "cpu" or "cuda".
        notes: a fallback is appended here as one sentence (the engine exposes them).

    Raises:
        ModelError: unknown device name.
    """
    if requested not in ("auto", "cpu", "cuda"):
        raise ModelError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if requested == "cuda":
        notes.append("CUDA requested but not available: running on CPU")
    return torch.device("cpu")


def select_dtype(precision: str, device: torch.device, notes: list[str]) -> torch.dtype:
    """fp32 anywhere; fp16 / bf16 only on CUDA (CPU falls back to fp32 with a note).

    Raises:
        ModelError: unknown precision name.
    """
    if precision not in DTYPES:
        raise ModelError(f"precision must be one of {sorted(DTYPES)}, got {precision!r}")
    if precision != "fp32" and device.type != "cuda":
        notes.append(f"{precision} requested on {device.type}: running in fp32")
        return torch.float32
    return DTYPES[precision]
