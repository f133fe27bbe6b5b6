"""ONNX export of a learned model's network: ``depth-completion export`` and the ONNX Runtime
engine (:mod:`.onnx_runtime`) both call :func:`export_network`.

What is exported is the ``nn.Module`` after the
:class:`~depth_completion_ros.engine.preprocess.Preprocessor`, with the adapter's network
contract (:mod:`.adapter`): inputs ``rgb`` (B, 3, H, W) float32 normalised, ``sparse``
(B, 1, H, W) float32 in depth units (metres / ``depth_scale``, 0 = none) and ``K`` (B, 3, 3)
float32 of the network input; output ``output`` (B, 2, H, W) float32, depth in depth units and
confidence in [0, 1] (or (B, 1, H, W) depth). An input the network never reads (``K`` for NLSPN
and CSPN) is left out of the graph by the exporter; a runtime feeds the graph's own inputs.
Batch, height and width are dynamic (any size, e.g. the 1216x352 KITTI crop or a crop clamped
to a smaller image) unless ``dynamic=False`` fixes the traced size.

How: torch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``; the default
``torch.export``-based exporter needs the onnxscript package and took 40 s instead of 5 s for
CSPN small on 2 cores), opset :data:`ONNX_OPSET` (``grid_sample``, which NLSPN's deformable
propagation uses, needs >= 16). ``torch.linalg.vecdot``, unknown to that exporter, is written as
``ReduceSum(Mul(x, y))`` for the duration of the export (a real dot product: vecdot's complex
conjugate is the identity on real tensors). The exporter's ``TracerWarning``s (a tensor read
into Python: a shape check, or a value the graph would then hold as a constant) are returned
with their source line; :func:`~.onnx_runtime.checked_export` runs the graph against eager
PyTorch at a second size, which is what shows whether they mattered. The model's facts go into
the ONNX ``metadata_props`` under keys starting with :data:`METADATA_PREFIX` (model, config,
input spec, inputs, output, opset, dynamic axes, checkpoint).
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn
from torch.jit._trace import TracerWarning
from torch.onnx import utils as onnx_utils

from depth_completion_ros.engine.preprocess import padded_size
from depth_completion_ros.errors import ModelError
from depth_completion_ros.models.weights import InputSpec

#: ONNX opset of the exports (grid_sample needs >= 16)
ONNX_OPSET = 17
#: network inputs in the order of the networks' ``forward(rgb, sparse, K)``
INPUT_NAMES = ("rgb", "sparse", "K")
#: the graph's one output
OUTPUT_NAME = "output"
#: what the inputs hold (metadata ``input_format``; the values of the spec are in ``input_spec``)
INPUT_FORMAT = ("rgb (B, 3, H, W) float32: (RGB / 255 - rgb_mean) / rgb_std; sparse (B, 1, H, W) "
                "float32: metres / depth_scale, 0 = no measurement; K (B, 3, 3) float32: "
                "intrinsics of the network input; H, W: the bottom-centre crop of input_spec "
                "(clamped to smaller images) padded right / bottom to its stride; an input is "
                "in the graph only when the network reads it")
#: how to get the optional packages (pinned in requirements-venv.txt for the venv)
INSTALL = "pip install onnx onnxruntime (the venv's versions are pinned in requirements-venv.txt)"
#: metadata_props keys start with this
METADATA_PREFIX = "depth_completion_ros."
#: (height, width) the engine traces at: small, so the export is quick; any size runs after
TRACE_SIZE = (64, 96)


def require(module: str) -> ModuleType:
    """``import module`` (``onnx``, ``onnxruntime``), or ModelError naming the install command.

    Raises:
        ModelError: the package is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ModelError(f"the ONNX path needs the {module} package, which is not installed "
                         f"here: {INSTALL}") from err


def example_inputs(input_spec: InputSpec, height: int, width: int) -> dict[str, Tensor]:
    """Network inputs of one frame at network input size (height, width) padded to the
    stride: seeded random normalised rgb, a 5 % sparse depth of 1..80 depth units, identity K.

    Raises:
        ModelError: a side < 1.
    """
    if height < 1 or width < 1:
        raise ModelError(f"export size must be at least 1x1, got {width}x{height}")
    ph, pw = padded_size(height, width, input_spec.stride)
    gen = torch.Generator().manual_seed(0)
    hits = torch.rand(1, 1, ph, pw, generator=gen) < 0.05
    sparse = torch.where(hits, 1.0 + 79.0 * torch.rand(1, 1, ph, pw, generator=gen), 0.0)
    return {"rgb": torch.randn(1, 3, ph, pw, generator=gen), "sparse": sparse,
            "K": torch.eye(3)[None]}


@dataclass(frozen=True)
class OnnxExport:
    """An exported network.

    Attributes:
        data: the serialised ONNX model.
        inputs: the graph's input names (those the network reads).
        trace_warnings: ``file:line: message`` of each TracerWarning of the trace.
    """

    data: bytes
    inputs: tuple[str, ...]
    trace_warnings: tuple[str, ...]


def export_network(module: nn.Module, example: Mapping[str, Tensor], *,
                   opset: int = ONNX_OPSET, dynamic: bool = True,
                   metadata: Mapping[str, str] | None = None) -> OnnxExport:
    """The network as an ONNX model, traced on ``example``.

    Args:
        module: the network (eval mode is set; CPU float32 expected).
        example: :data:`INPUT_NAMES` -> tensors (:func:`example_inputs`).
        opset: ONNX opset (>= 16).
        dynamic: batch, height and width dynamic; False fixes the example's shapes.
        metadata: more ``metadata_props`` (keys get :data:`METADATA_PREFIX`).

    Raises:
        ModelError: onnx missing, an operator the exporter cannot write, or an example
            without the network's inputs.
    """
    onnx = require("onnx")
    missing = [name for name in INPUT_NAMES if name not in example]
    if missing:
        raise ModelError(f"ONNX export: the example lacks the network input(s) {missing}")
    axes = {name: {0: "batch", 2: "height", 3: "width"} for name in ("rgb", "sparse",
                                                                      OUTPUT_NAME)}
    axes["K"] = {0: "batch"}
    module.eval()
    with tempfile.TemporaryDirectory() as folder, _vecdot_as_reduce_sum(opset), \
            warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        path = Path(folder) / "network.onnx"
        try:
            torch.onnx.export(module, tuple(example[name] for name in INPUT_NAMES), path,
                              dynamo=False, opset_version=opset, input_names=list(INPUT_NAMES),
                              output_names=[OUTPUT_NAME], dynamic_axes=axes if dynamic else None)
        except RuntimeError as err:  # the exporter's errors and tracing failures alike
            raise ModelError(f"ONNX export of the network failed: {err}") from err
        proto = onnx.load_model(str(path))
    inputs = [value.name for value in proto.graph.input]
    shape = "x".join(str(s) for s in example["rgb"].shape[2:][::-1])
    facts = {"inputs": ", ".join(inputs), "input_format": INPUT_FORMAT,
             "output": f"{OUTPUT_NAME} (B, 2, H, W) float32: depth in depth units (metres / "
                       f"depth_scale), confidence in [0, 1]",
             "opset": str(opset),
             "dynamic_axes": "batch, height, width" if dynamic else f"none (fixed at {shape})",
             **(metadata or {})}
    for key, value in facts.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = METADATA_PREFIX + key, value
    traced = tuple(f"{Path(w.filename).name}:{w.lineno}: {str(w.message).split('.')[0]}"
                   for w in caught if issubclass(w.category, TracerWarning))
    return OnnxExport(proto.SerializeToString(), tuple(inputs), traced)


def model_metadata(model: str, config: Any, input_spec: InputSpec, checkpoint: Path | None,
                   notes: list[str] | None = None) -> dict[str, str]:
    """``metadata_props`` of a model: name, config (JSON of the dataclass' fields), input spec
    (JSON), checkpoint file name (or "none: random weights"), the loading's notes (if any)."""
    is_instance = dataclasses.is_dataclass(config) and not isinstance(config, type)
    fields = dataclasses.asdict(config) if is_instance else dict(config)
    return {"model": model, "config": json.dumps(fields, sort_keys=True),
            "input_spec": json.dumps(input_spec.as_dict(), sort_keys=True),
            "checkpoint": checkpoint.name if checkpoint is not None else "none: random weights",
            **({"notes": "; ".join(notes)} if notes else {})}


def _vecdot(g: Any, x: Any, y: Any, dim: Any) -> Any:
    """ONNX symbolic of ``torch.linalg.vecdot(x, y, dim=dim)`` for real tensors."""
    from torch.onnx.symbolic_helper import _get_const

    axis = _get_const(dim, "i", "dim")  # type: ignore[no-untyped-call]
    return g.op("ReduceSum", g.op("Mul", x, y), g.op("Constant", value_t=torch.tensor([axis])),
                keepdims_i=0)


@contextlib.contextmanager
def _vecdot_as_reduce_sum(opset: int) -> Iterator[None]:
    """``aten::linalg_vecdot`` known to the TorchScript exporter inside the block only."""
    with warnings.catch_warnings():  # the registration API itself is deprecated in torch 2.13
        warnings.simplefilter("ignore", DeprecationWarning)
        onnx_utils.register_custom_op_symbolic("aten::linalg_vecdot", _vecdot, opset)
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            onnx_utils.unregister_custom_op_symbolic("aten::linalg_vecdot", opset)
