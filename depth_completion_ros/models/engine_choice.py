"""The ``engine`` choice (node parameter, ``--engine``): what runs a model from ``get_model``.

``torch`` (the default) keeps the model as built; ``onnxruntime`` re-hosts a learned model's
network in ONNX Runtime (:func:`depth_completion_ros.engine.onnx_runtime.onnxruntime_model`,
imported only then, so choosing ``torch`` never imports onnx). Learning-free models ignore the
engine, as they ignore device and precision.

Example:
    >>> from depth_completion_ros.models import get_model
    >>> model = get_model("classical")
    >>> with_engine(model, "onnxruntime") is model
    True
    >>> with_engine(model, "tensorrt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    depth_completion_ros.errors.ModelError: model 'classical': engine: expected one of [...
"""
from __future__ import annotations

from depth_completion_ros.devices import Engine
from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.models.base import DepthModel


def with_engine(model: DepthModel, engine: Engine | str) -> DepthModel:
    """``model`` run by ``engine`` (see the module docstring).

    Raises:
        ModelError: an unknown engine (naming the valid ones); for ``onnxruntime``, see
            :func:`~depth_completion_ros.engine.onnx_runtime.onnxruntime_model` (onnxruntime
            not installed, a network that cannot be exported).
    """
    try:
        choice = Engine.parse(engine)
    except InputError as err:
        raise ModelError(f"model {model.spec.name!r}: {err}") from err
    if choice is Engine.TORCH:
        return model
    from depth_completion_ros.engine.onnx_runtime import onnxruntime_model

    return onnxruntime_model(model)
