"""InferenceEngine: device, precision, inference mode, warm-up, reused buffers, stage timings."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.engine.device import select_device, select_dtype


class StageTimer:
    """Milliseconds per named stage of the last call (CUDA synchronised before reading)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.last: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block into ``last[name]``."""
        start = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.last[name] = 1e3 * (time.perf_counter() - start)


class InferenceEngine:
    """Runs a module on the selected device and precision.

    Attributes:
        device: where the module runs. dtype: its floating dtype.
        notes: fallbacks taken (e.g. "CUDA requested but not available: running on CPU").
        timer: per-stage timings of the last call ("forward" here, the adapter adds more).
    """

    def __init__(self, module: torch.nn.Module, *, device: Device | str = Device.AUTO,
                 precision: Precision | str = Precision.FP32) -> None:
        self.notes: list[str] = []
        self.device = select_device(device, self.notes)
        self.dtype = select_dtype(precision, self.device, self.notes)
        self.module = module.to(self.device, self.dtype).eval()
        self.timer = StageTimer(self.device)
        self.warmed_up = False
        self._buffers: dict[str, torch.Tensor] = {}

    def _to_device(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        """Copy into a reused device buffer of the same shape (reallocated on a new shape)."""
        dtype = self.dtype if tensor.is_floating_point() else tensor.dtype
        buf = self._buffers.get(name)
        if buf is None or buf.shape != tensor.shape or buf.dtype != dtype:
            buf = torch.empty(tensor.shape, dtype=dtype, device=self.device)
            self._buffers[name] = buf
        buf.copy_(tensor, non_blocking=True)
        return buf

    def run(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Forward pass under ``torch.inference_mode``; inputs passed as keyword arguments."""
        with self.timer.stage("forward"), torch.inference_mode():
            args = {k: self._to_device(k, v) for k, v in inputs.items()}
            out: torch.Tensor = self.module(**args)
            return out

    def warm_up(self, inputs: dict[str, torch.Tensor], passes: int = 1) -> None:
        """Run ``passes`` forward passes (allocator, cuDNN autotune) before timing matters."""
        for _ in range(passes):
            self.run(inputs)
        self.warmed_up = True
