"""Mixed precision for training (``run.precision``): fp32, bf16 autocast, fp16 autocast with a
gradient scaler.

- ``fp32``: nothing changes (no autocast, the scaler disabled: every call passes through).
- ``bf16``: the forward pass and the loss under ``torch.autocast`` in bfloat16, on CUDA or on the
  CPU (torch autocasts both); no scaler (bf16 has fp32's exponent range).
- ``fp16``: autocast in float16 and ``torch.amp.GradScaler`` (the loss scaled before backward,
  gradients unscaled before clipping, steps with inf / NaN gradients skipped, the scale adapted).
  CUDA only: on the CPU the run is fp32 with a note (as inference does with half precision).

The weights, the optimiser state and the exported checkpoints stay fp32.

Example:
    >>> notes = []
    >>> mp = mixed_precision("fp16", torch.device("cpu"), notes)
    >>> mp.dtype is None, mp.scaler.is_enabled()
    (True, False)
    >>> print(*notes)
    fp16 mixed precision needs CUDA (its gradient scaler): training in fp32 on cpu
    >>> mixed_precision("bf16", torch.device("cpu"), []).dtype
    torch.bfloat16
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from depth_completion_ros.devices import Precision
from depth_completion_ros.errors import ConfigError


@dataclass
class MixedPrecision:
    """Autocast dtype (None = fp32) and the gradient scaler (enabled for fp16 only)."""

    device_type: str
    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The forward pass's context: autocast in :attr:`dtype`, or nothing in fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backward of ``loss`` (scaled first in fp16)."""
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]

    def step(self, optimiser: torch.optim.Optimizer, module: torch.nn.Module,
             grad_clip: float) -> float:
        """Unscale (fp16), clip to ``grad_clip`` (0 = no clipping), step, adapt the scale.

        Returns:
            The gradient norm before clipping (inf / NaN on a step fp16 skips).
        """
        self.scaler.unscale_(optimiser)
        params = [p for p in module.parameters() if p.grad is not None]
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, grad_clip or math.inf))
        self.scaler.step(optimiser)
        self.scaler.update()
        return grad_norm

    def state_dict(self) -> dict[str, Any]:
        """The scaler's state (empty unless fp16)."""
        return dict(self.scaler.state_dict())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (ignored when either side is not fp16)."""
        if state and self.scaler.is_enabled():
            self.scaler.load_state_dict(dict(state))


def mixed_precision(precision: str, device: torch.device, notes: list[str]) -> MixedPrecision:
    """The :class:`MixedPrecision` of ``precision`` on ``device``; a fallback is appended to
    ``notes``.

    Raises:
        ConfigError: not one of fp32, bf16, fp16.
    """
    if precision not in Precision.choices():
        raise ConfigError(f"run.precision must be one of {list(Precision.choices())}, got "
                          f"{precision!r}")
    choice = Precision(precision)
    dtype: torch.dtype | None = None
    if choice is Precision.BF16:
        dtype = torch.bfloat16
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            notes.append("bf16 mixed precision: this GPU has no bf16; training in fp32")
            dtype = None
    elif choice is Precision.FP16:
        if device.type == "cuda":
            dtype = torch.float16
        else:
            notes.append(f"fp16 mixed precision needs CUDA (its gradient scaler): training in "
                         f"fp32 on {device.type}")
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    return MixedPrecision(device.type, dtype, scaler)
