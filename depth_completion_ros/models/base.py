"""The one interface every completion / prediction model implements, and what it declares.

A model takes an RGB image and / or a sparse LiDAR depth image plus the camera intrinsics, all at
the camera's full resolution, and returns dense depth and confidence at that same resolution. Its
:class:`ModelSpec` declares which inputs it requires and which it can use when given, so RGB-only
prediction (required: RGB; optional: sparse depth), RGB + LiDAR completion (both required) and
LiDAR-only completion (required: sparse depth; no camera image at inference) are all expressible.
Any crop, normalisation, padding to a network stride or resizing is the model's own business, so
callers (node, predict, evaluate) never need to know them. Pixels a model does not estimate (e.g.
above the LiDAR's field of view when it works on a crop) are NaN in ``depth`` and 0 in
``confidence``.

Example:
    >>> spec = ModelSpec("mono", required=(ModelInput.RGB,), optional=(ModelInput.SPARSE_DEPTH,))
    >>> spec.runs_without_lidar, spec.needs_image
    (True, True)
    >>> [i.value for i in spec.missing(rgb=False, sparse_depth=True)]
    ['rgb']
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, FloatArray, UInt8Array
from depth_completion_ros.errors import InputError, ModelError


class ModelInput(str, Enum):
    """An input a model can take; the value is the ``predict`` argument's name."""

    RGB = "rgb"
    SPARSE_DEPTH = "sparse_depth"

    @property
    def label(self) -> str:
        """Human wording for error messages ("an RGB image", "a sparse depth")."""
        return "an RGB image" if self is ModelInput.RGB else "a sparse depth (LiDAR)"


def _inputs(values: Iterable[ModelInput | str], what: str, name: str) -> tuple[ModelInput, ...]:
    """``values`` as ModelInput members in declaration order (duplicates dropped)."""
    try:
        given = {ModelInput(v) for v in values}
    except ValueError as err:
        raise ModelError(f"model {name!r}: {what} inputs must be among "
                         f"{[i.value for i in ModelInput]}: {err}") from err
    return tuple(i for i in ModelInput if i in given)


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and needs: the one source of its name and capabilities.

    Attributes:
        name: registry name (``get_model(name)``).
        required: inputs ``predict`` cannot run without (at least one).
        optional: inputs the model uses when given (never both required and optional).
        needs_gpu: the model is only practical on CUDA.
        description: one line for ``depth-completion models``.
        paper: citation of the method, "" when none.

    Raises:
        ModelError: no required input, an input both required and optional, or an unknown
            input name.
    """

    name: str
    required: tuple[ModelInput, ...]
    optional: tuple[ModelInput, ...] = ()
    needs_gpu: bool = False
    description: str = ""
    paper: str = ""

    def __post_init__(self) -> None:
        required = _inputs(self.required, "required", self.name)
        optional = _inputs(self.optional, "optional", self.name)
        if not required:
            raise ModelError(f"model {self.name!r}: at least one input must be required")
        both = [i.value for i in required if i in optional]
        if both:
            raise ModelError(f"model {self.name!r}: {both} both required and optional")
        object.__setattr__(self, "required", required)
        object.__setattr__(self, "optional", optional)

    @property
    def accepted(self) -> tuple[ModelInput, ...]:
        """Required and optional inputs, in declaration order."""
        return tuple(i for i in ModelInput if i in self.required or i in self.optional)

    @property
    def needs_image(self) -> bool:
        """The model cannot run without an RGB image."""
        return ModelInput.RGB in self.required

    @property
    def runs_without_lidar(self) -> bool:
        """The model serves frames without LiDAR (prediction mode)."""
        return ModelInput.SPARSE_DEPTH not in self.required

    def missing(self, *, rgb: bool, sparse_depth: bool) -> tuple[ModelInput, ...]:
        """Required inputs absent from a call that gives ``rgb`` / ``sparse_depth`` (or not)."""
        given = {ModelInput.RGB: rgb, ModelInput.SPARSE_DEPTH: sparse_depth}
        return tuple(i for i in self.required if not given[i])


@dataclass
class CompletionOutput:
    """Result of one model call.

    Attributes:
        depth: (H, W) float32, metres, NaN where no estimate.
        confidence: (H, W) float32 in [0, 1], 0 where no estimate.
        timings_ms: stage name -> milliseconds, filled by the model / engine.
    """

    depth: Float32Array
    confidence: Float32Array
    timings_ms: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class DepthModel(Protocol):
    """Protocol of every registered model.

    ``predict`` arguments (each may be None when the spec does not require it):
        rgb: (H, W, 3) uint8, RGB order.
        sparse_depth: (H, W) float32 metres, 0 = no measurement.
        K: (3, 3) float64 intrinsics of the image the arrays are in.

    ``name`` is ``spec.name``.
    """

    spec: ModelSpec

    @property
    def name(self) -> str: ...

    def predict(self, rgb: UInt8Array | None, sparse_depth: FloatArray | None,
                K: Array) -> CompletionOutput: ...


class SpecModel:
    """Mixin of model classes: ``name`` is read from the class's ``spec`` (one source)."""

    spec: ModelSpec

    @property
    def name(self) -> str:
        """Registry name (``spec.name``)."""
        return self.spec.name


def check_inputs(rgb: Array | None, sparse_depth: Array | None, K: Array,
                 *, spec: ModelSpec) -> tuple[int, int]:
    """Check the arrays of a ``predict`` call against the model's spec; returns (H, W).

    Args:
        rgb: (H, W, 3) uint8, or None.
        sparse_depth: (H, W) float metres, 0 = none, or None.
        K: (3, 3) intrinsics.
        spec: the model's spec (its name is used in error messages).

    Raises:
        ModelError: a required input is None (naming the model and the input).
        InputError: naming the model, the argument and the offending shape / dtype.
    """
    model = spec.name
    missing = spec.missing(rgb=rgb is not None, sparse_depth=sparse_depth is not None)
    if missing:
        raise ModelError(f"model {model!r} needs {missing[0].label}: it requires "
                         f"{[i.value for i in spec.required]}, got "
                         f"{_given(rgb, sparse_depth) or 'neither'}")
    if rgb is not None and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
        raise InputError(f"model {model!r}: rgb must be (H, W, 3) uint8, "
                         f"got {rgb.shape} {rgb.dtype}")
    if sparse_depth is not None:
        if sparse_depth.ndim != 2 or sparse_depth.dtype.kind != "f":
            raise InputError(f"model {model!r}: sparse_depth must be (H, W) float, "
                             f"got {sparse_depth.shape} {sparse_depth.dtype}")
        if rgb is not None and sparse_depth.shape != rgb.shape[:2]:
            raise InputError(f"model {model!r}: sparse_depth shape {sparse_depth.shape} "
                             f"differs from rgb {rgb.shape[:2]}")
    if np.shape(K) != (3, 3):
        raise InputError(f"model {model!r}: K must be (3, 3), got {np.shape(K)}")
    if sparse_depth is not None:
        return int(sparse_depth.shape[0]), int(sparse_depth.shape[1])
    if rgb is not None:
        return int(rgb.shape[0]), int(rgb.shape[1])
    raise ModelError(f"model {model!r}: got neither rgb nor sparse_depth")


def _given(rgb: Array | None, sparse_depth: Array | None) -> list[str]:
    return [name for name, value in (("rgb", rgb), ("sparse_depth", sparse_depth))
            if value is not None]


def check_completion_inputs(rgb: Array | None, sparse_depth: FloatArray | None,
                            K: Array, *, spec: ModelSpec) -> FloatArray:
    """:func:`check_inputs` for a model that requires sparse depth; returns the sparse depth.

    Raises:
        ModelError: ``sparse_depth`` is None.
        InputError: see :func:`check_inputs`.
    """
    check_inputs(rgb, sparse_depth, K, spec=spec)
    if sparse_depth is None:
        raise ModelError(f"model {spec.name!r} needs {ModelInput.SPARSE_DEPTH.label}")
    return sparse_depth


class LearningFreeClass(Protocol):
    """A learning-free model class: its ``spec`` and a constructor taking the typed config."""

    spec: ModelSpec

    def __call__(self, config: Any) -> DepthModel: ...


def learning_free_factory(model_cls: LearningFreeClass) -> Callable[..., DepthModel]:
    """Registry factory of a model without weights: builds ``model_cls(config)`` and refuses a
    checkpoint (device and precision do not apply: such models run on the CPU in float32)."""
    def build(config: Any, *, checkpoint: Any = None, device: str = "auto",
              precision: str = "fp32") -> DepthModel:
        if checkpoint is not None:
            raise ModelError(f"model {model_cls.spec.name!r} is learning-free and takes no "
                             f"checkpoint, got {checkpoint}")
        return model_cls(config)
    return build
