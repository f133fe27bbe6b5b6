"""Where, in which precision and by which engine a model runs: the one list of devices,
precisions and engines.

CLI choices, node parameters, the registry and the engines all import these types, so a new
device, precision or engine is added here once.

Example:
    >>> Device.parse("cuda") is Device.CUDA
    True
    >>> [p.value for p in Precision]
    ['fp32', 'fp16', 'bf16']
    >>> Engine.choices()
    ('torch', 'onnxruntime')
"""
from __future__ import annotations

from enum import Enum
from typing import TypeVar

from depth_completion_ros.errors import InputError

ChoiceT = TypeVar("ChoiceT", bound="_Choice")


class _Choice(str, Enum):
    """A string-valued choice; :meth:`parse` raises InputError listing the valid values."""

    @classmethod
    def choices(cls) -> tuple[str, ...]:
        """The valid values, in declaration order (for argparse ``choices`` and parameters)."""
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls: type[ChoiceT], value: object) -> ChoiceT:
        """The member whose value is ``value``.

        Raises:
            InputError: ``value`` is not one of :meth:`choices` (expected vs actual).
        """
        try:
            return cls(value)
        except ValueError as err:
            raise InputError(f"{cls.__name__.lower()}: expected one of {list(cls.choices())}, "
                             f"got {value!r}") from err

    def __str__(self) -> str:
        return str(self.value)


class Device(_Choice):
    """``auto`` = CUDA when available, else CPU (the fallback is stated, never silent)."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Precision(_Choice):
    """Floating precision of a torch model; half precisions run only on CUDA."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"


class Engine(_Choice):
    """What runs a learned model's network: eager PyTorch, or its ONNX export in ONNX Runtime
    (CPU; :mod:`depth_completion_ros.engine.onnx_runtime`). Learning-free models ignore it."""

    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
