"""The ONNX Runtime engine: a learned model's network exported to ONNX (:mod:`.onnx_export`)
and run by an onnxruntime CPU session, behind the torch engine's interface.

:class:`OnnxRuntimeEngine` is an :class:`~.inference.InferenceEngine` whose ``run`` feeds the
Preprocessor's tensors to the session (torch CPU tensors -> numpy -> session -> torch), so
:class:`~.adapter.TorchModelAdapter` runs it unchanged: the same crop, normalisation, stride,
restore and stage timings ("forward" is the session's run). The network is exported once,
when the model is built, with dynamic batch, height and width, so every image size runs on the
one session; :func:`checked_export` first runs the graph against eager PyTorch at a size other
than the traced one (:data:`CHECK_SIZE`, odd), so a graph that holds only for the traced
shape (a size read into Python during the trace) is refused at load, not served.
:func:`onnxruntime_model` is what the ``engine`` parameter's ``onnxruntime`` (node, CLI;
:func:`~depth_completion_ros.models.engine_choice.with_engine`) does to a model from
``get_model``: it re-hosts a learned model's network; learning-free models are left as they
are, as they ignore device and precision. The session runs in fp32 on the CPU with as many
intra-op threads as torch uses; a CUDA device or half precision requested is noted, not
silently dropped.

Example:
    >>> from depth_completion_ros.models import get_model
    >>> model = get_model("classical")
    >>> onnxruntime_model(model) is model  # learning-free: the engine does not apply
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.engine.inference import InferenceEngine
from depth_completion_ros.engine.onnx_export import (
    ONNX_OPSET,
    OUTPUT_NAME,
    TRACE_SIZE,
    OnnxExport,
    example_inputs,
    export_network,
    require,
)
from depth_completion_ros.errors import ModelError
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.models.weights import InputSpec

#: (height, width) the export is checked at: odd, unlike the trace size
CHECK_SIZE = (45, 71)
#: largest ``max |onnxruntime - torch| / (1 + max |torch|)`` the export check accepts: absolute
#: for outputs of a few metres, relative for the huge ones random weights can give
CHECK_TOLERANCE = 1e-4


def create_session(onnx_model: bytes, threads: int | None = None) -> Any:
    """An onnxruntime CPU ``InferenceSession`` of a serialised model.

    Args:
        onnx_model: the ONNX model's bytes.
        threads: intra-op threads; None = ``torch.get_num_threads()`` (so both engines use
            the same cores).

    Raises:
        ModelError: onnxruntime missing, or the model is refused by it.
    """
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise ModelError(f"onnxruntime refused the exported network: {err}") from err


def run_session(session: Any, inputs: dict[str, Tensor]) -> Tensor:
    """The session's output for the Preprocessor's ``inputs`` (the graph's inputs fed as
    float32 numpy arrays), as a CPU tensor.

    Raises:
        ModelError: an input of the graph is missing from ``inputs``.
    """
    names = [arg.name for arg in session.get_inputs()]
    missing = [name for name in names if name not in inputs]
    if missing:
        raise ModelError(f"onnxruntime: the network's input(s) {missing} were not given "
                         f"(given: {sorted(inputs)})")
    feeds = {name: np.ascontiguousarray(inputs[name].detach().to("cpu", torch.float32).numpy())
             for name in names}
    out = session.run([OUTPUT_NAME], feeds)[0]
    return torch.from_numpy(out)


class OnnxRuntimeEngine(InferenceEngine):
    """The network exported to ONNX and run by onnxruntime on the CPU, in fp32.

    Args:
        module: the network with its weights (kept, on the CPU, for re-export and checks).
        input_spec: its input spec (stride of the trace, traced at
            :data:`~.onnx_export.TRACE_SIZE`: the graph takes any size).
        threads: intra-op threads of the session (None: torch's).
        metadata: ``metadata_props`` of the export (:func:`~.onnx_export.model_metadata`).

    Attributes:
        onnx_model: the exported model's bytes. session: the onnxruntime session.

    Raises:
        ModelError: onnx / onnxruntime missing (the message names the install command), or
            the network cannot be exported or loaded.
    """

    def __init__(self, module: nn.Module, input_spec: InputSpec, *, threads: int | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(module, device=Device.CPU, precision=Precision.FP32)
        ort = require("onnxruntime")
        export, self.session = checked_export(self.module, input_spec, metadata=metadata,
                                              threads=threads)
        self.onnx_model = export.data
        used = self.session.get_session_options().intra_op_num_threads
        self.notes.append(f"engine onnxruntime {ort.__version__}: the network exported to ONNX "
                          f"(opset {ONNX_OPSET}), run on the CPU in fp32 with {used} threads")

    def run(self, inputs: dict[str, Tensor]) -> Tensor:
        """The session's forward pass (timed as "forward")."""
        with self.timer.stage("forward"):
            return run_session(self.session, inputs)


def onnxruntime_model(model: DepthModel, *, threads: int | None = None) -> DepthModel:
    """``model`` with its network run by onnxruntime; a learning-free model as it is.

    Args:
        model: from ``get_model``.
        threads: intra-op threads of the onnxruntime session (None: torch's).

    Raises:
        ModelError: onnx / onnxruntime missing (naming the install command), a network that
            refines another model's depth (MSPN: its D0 is not in the export), or an export
            that fails its check.
    """
    if not isinstance(model, TorchModelAdapter):
        return model
    network = exportable(model).engine.module
    hosted = TorchModelAdapter(model.spec, network, model.input_spec, device=Device.CPU,
                               precision=Precision.FP32, warmup=model.warmup)
    engine = OnnxRuntimeEngine(network, model.input_spec, threads=threads)
    engine.notes[:0] = model.engine.notes + _not_used(model.engine)
    hosted.engine = engine
    return hosted


def exportable(model: DepthModel) -> TorchModelAdapter:
    """``model`` as a learned model whose network (``.engine.module``) can be exported alone.

    Raises:
        ModelError: a learning-free model, or one whose network refines another model's
            output (its D0 model is not part of the network).
    """
    name = model.spec.name
    if not isinstance(model, TorchModelAdapter):
        raise ModelError(f"model {name!r} is not a learned model: it has no network to export "
                         f"or to run in onnxruntime")
    if getattr(model, "initial", None) is not None:
        raise ModelError(f"model {name!r} is not supported by the ONNX export and the "
                         f"onnxruntime engine: its network refines another model's depth (D0), "
                         f"which the export does not contain; use engine torch")
    return model


def _not_used(engine: InferenceEngine) -> list[str]:
    """Notes for a CUDA device or a half precision the torch engine had chosen."""
    notes = []
    if engine.device.type != "cpu":
        notes.append(f"engine onnxruntime runs on the CPU: device {engine.device.type} not used")
    if engine.dtype != torch.float32:
        notes.append(f"engine onnxruntime runs in fp32: {str(engine.dtype).split('.')[-1]} "
                     f"not used")
    return notes


def checked_export(module: nn.Module, input_spec: InputSpec, *,
                   size: tuple[int, int] = TRACE_SIZE, dynamic: bool = True,
                   opset: int = ONNX_OPSET, metadata: dict[str, str] | None = None,
                   threads: int | None = None) -> tuple[OnnxExport, Any]:
    """Export ``module`` traced at ``size`` and check the graph against eager PyTorch at
    :data:`CHECK_SIZE` (at ``size`` when not dynamic); returns the export and its onnxruntime
    session.

    Raises:
        ModelError: onnx / onnxruntime missing, the export fails, or the graph's output differs
            (more than :data:`CHECK_TOLERANCE`, relative) at a checked size (naming the
            trace's warnings, the likely cause).
    """
    export = export_network(module, example_inputs(input_spec, *size), dynamic=dynamic,
                            opset=opset, metadata=metadata)
    session = create_session(export.data, threads)
    height, width = CHECK_SIZE if dynamic else size
    inputs = example_inputs(input_spec, height, width)
    expected = _eager(module, inputs)
    got = run_session(session, inputs)
    worst = float((got - expected).abs().max() / (1.0 + expected.abs().max()))
    if not worst <= CHECK_TOLERANCE:
        raise ModelError(f"the ONNX graph differs from the network at {width}x{height} "
                         f"(largest relative difference {worst:.3g} > {CHECK_TOLERANCE:g}): "
                         f"the trace holds only for its example; trace warnings: "
                         f"{list(export.trace_warnings) or 'none'}")
    return export, session


def _eager(module: nn.Module, inputs: dict[str, Tensor]) -> Tensor:
    """The network's float32 output on ``inputs`` under inference mode."""
    with torch.inference_mode():
        out: Tensor = module.eval()(**{k: v.float() for k, v in inputs.items()})
    return out.float()


@dataclass(frozen=True)
class Parity:
    """Largest differences of the onnxruntime output from eager PyTorch on one input.

    Attributes:
        depth_m: max |depth difference|, metres. confidence: max |confidence difference|.
        height, width: network input size compared.
    """

    depth_m: float
    confidence: float
    height: int
    width: int


def compare_with_torch(module: nn.Module, session: Any, inputs: dict[str, Tensor],
                       depth_scale: float) -> Parity:
    """Run ``module`` eagerly and the onnxruntime ``session`` on the same network inputs.

    Raises:
        ModelError: see :func:`run_session`.
    """
    diff = (run_session(session, inputs) - _eager(module, inputs)).abs()
    confidence = float(diff[:, 1].max()) if diff.shape[1] > 1 else 0.0
    return Parity(float(diff[:, 0].max()) * depth_scale, confidence, int(diff.shape[2]),
                  int(diff.shape[3]))
