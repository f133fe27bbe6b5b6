"""TorchModelAdapter: an ``nn.Module`` plus its input spec becomes a DepthModel.

The network contract: ``forward(rgb, sparse, K)`` with rgb (B, 3, h, w) normalised float (zeros
when the call has no image or the spec accepts none: a LiDAR-only network never sees one),
sparse (B, 1, h, w) float (metres / ``depth_scale``, 0 = none; zeros when the call has no
LiDAR) and K (B, 3, 3) of the network input; it returns (B, 1, h, w) depth (in ``depth_scale``
units) or (B, 2, h, w) depth and confidence in [0, 1]. The adapter runs the
:class:`~depth_completion_ros.engine.preprocess.Preprocessor` of the weights' input spec on the
engine's device (crop, normalise, pad to stride, K; the same module training uses), the network
through the :class:`InferenceEngine`, and puts the result back at full size: NaN depth and 0
confidence outside the crop (the pipeline, which the node and the evaluation use, turns depths
outside [min_depth, max_depth] into NaN as well). :func:`torch_model_factory` is the registry
factory of a learned model: it builds the network, loads the checkpoint strictly (input spec
compared) and wraps it.

A refinement network (MSPN) also takes ``initial``: the depth of another registered model (D0)
on the same frame, made by :func:`initial_depth` (where that model gives no depth, the nearest
value of the column stands in, and the refined output there is NaN again: a refinement does not
invent coverage its starting model did not have).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from depth_completion_ros.arrays import (
    Array,
    BoolArray,
    Float32Array,
    FloatArray,
    UInt8Array,
)
from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.engine.inference import InferenceEngine
from depth_completion_ros.engine.preprocess import Preprocessor
from depth_completion_ros.errors import MissingWeightsError, ModelError
from depth_completion_ros.models.base import (
    CompletionOutput,
    DepthModel,
    ModelInput,
    ModelSpec,
    SpecModel,
    check_inputs,
)
from depth_completion_ros.models.checkpoint import (
    apply_checkpoint,
    check_architecture,
    read_checkpoint,
)
from depth_completion_ros.models.column_fill import fill_columns
from depth_completion_ros.models.weights import InputSpec


class TorchModelAdapter(SpecModel):
    """A DepthModel around a network; the learned models plug in here.

    Args:
        spec: the model's spec (name, required / optional inputs).
        module: the network (see the module docstring for its contract).
        input_spec: crop, normalisation, stride, depth scale (from the checkpoint).
        device: where the network runs (CUDA -> CPU fallback noted in ``engine.notes``).
        precision: floating precision of the network (half only on CUDA).
        warmup: forward passes run once at the first frame size.
    """

    def __init__(self, spec: ModelSpec, module: torch.nn.Module, input_spec: InputSpec, *,
                 device: Device | str = Device.AUTO, precision: Precision | str = Precision.FP32,
                 warmup: int = 1, initial: DepthModel | None = None) -> None:
        self.spec, self.input_spec, self.warmup = spec, input_spec, warmup
        self.initial = initial
        #: a refinement network's output carries D0's confidence instead of its own
        self.confidence_from_initial = False
        self.engine = InferenceEngine(module, device=device, precision=precision)
        self.preprocessor = Preprocessor(input_spec).to(self.engine.device)

    def predict(self, rgb: UInt8Array | None, sparse_depth: FloatArray | None,
                K: Array) -> CompletionOutput:
        """Full-resolution depth (H, W) metres and confidence; timings per stage."""
        height, width = check_inputs(rgb, sparse_depth, K, spec=self.spec)
        if ModelInput.RGB not in self.spec.accepted:
            rgb = None   # a LiDAR-only network never sees an image, even when one is given
        timer = self.engine.timer
        start: InitialDepth | None = None
        if self.initial is not None:
            with timer.stage("initial"):
                start = initial_depth(self.initial, rgb, sparse_depth, K)
        with timer.stage("preprocess"), torch.inference_mode():
            rgb_t, sparse_t, K_t = self._tensors(rgb, sparse_depth, K)
            start_t = None if start is None else \
                torch.from_numpy(start.depth).to(self.engine.device)[None, None]
            inputs = self.preprocessor(rgb_t, sparse_t, K_t, start_t)
        if not self.engine.warmed_up:
            self.engine.warm_up(inputs, self.warmup)
        out = self.engine.run(inputs)
        with timer.stage("postprocess"), torch.inference_mode():
            depth, conf = self.preprocessor.restore(out, height, width)
            depth_np, conf_np = depth[0].cpu().numpy(), conf[0].cpu().numpy()
        if start is not None:
            if self.confidence_from_initial:
                conf_np = start.confidence.copy()
            depth_np[~start.covered] = np.nan
            # 0 wherever there is no depth: outside D0's cover and outside the network's crop
            # (D0's own confidence covers the whole image)
            conf_np[np.isnan(depth_np)] = 0.0
        return CompletionOutput(depth_np, conf_np, dict(timer.last))

    def _tensors(self, rgb: UInt8Array | None, sparse: FloatArray | None, K: Array
                 ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        """Batches of one on the engine's device: rgb (1, 3, H, W) uint8, sparse (1, 1, H, W)
        float32 metres, K (1, 3, 3) float64."""
        device = self.engine.device
        rgb_t = None if rgb is None else \
            torch.from_numpy(_writable(rgb, np.uint8)).to(device).permute(2, 0, 1)[None]
        sparse_t = None if sparse is None else \
            torch.from_numpy(_writable(sparse, np.float32)).to(device)[None, None]
        K_t = torch.from_numpy(np.array(K, np.float64)).to(device)[None]
        return rgb_t, sparse_t, K_t


class InitialDepth(NamedTuple):
    """D0 of a refinement network (:func:`initial_depth`).

    Attributes:
        depth: (H, W) float32 metres, finite everywhere (:func:`fill_columns` where the model
            gives none).
        covered: (H, W) bool, where the model gave a depth.
        confidence: (H, W) float32 in [0, 1], the model's own confidence.
    """

    depth: Float32Array
    covered: BoolArray
    confidence: Float32Array


def initial_depth(model: DepthModel, rgb: UInt8Array | None, sparse: FloatArray | None,
                  K: Array) -> InitialDepth:
    """D0 of a refinement network: ``model``'s output on this frame."""
    out = model.predict(rgb, sparse, K)
    depth = np.asarray(out.depth, np.float32)
    valid = np.isfinite(depth) & (depth > 0)
    return InitialDepth(fill_columns(depth, valid), valid,
                        np.asarray(out.confidence, np.float32))


def _writable(array: Array, dtype: type) -> Array:
    """C-contiguous ``dtype`` array torch may wrap: a read-only one (a message's buffer) is
    copied, since torch does not support tensors over read-only memory."""
    out: Array = np.ascontiguousarray(array, dtype)
    return out if out.flags.writeable else out.copy()


def torch_model_factory(spec: ModelSpec, build: Callable[[Any], torch.nn.Module],
                        input_spec: InputSpec, *, warmup: int = 1,
                        architecture: tuple[str, ...] = (),
                        missing_weights: str | None = None,
                        initial: Callable[[Any], DepthModel] | None = None,
                        initial_confidence: Callable[[Any], bool] | None = None
                        ) -> Callable[..., DepthModel]:
    """Registry factory of a learned model whose weights are in this package's format.

    Args:
        spec: the model's spec.
        build: config -> the network (random weights; the checkpoint fills them).
        input_spec: what the network expects; the checkpoint's stored spec must equal it.
        warmup: see :class:`TorchModelAdapter`.
        architecture: config fields that shape the weights: a checkpoint whose stored config
            differs on one is refused before the network is built, naming the ``--set``
            options that build its network.
        missing_weights: the message when no checkpoint is given (MissingWeightsError: where
            weights come from); None: a generic ModelError.
        initial: config -> the model whose depth a refinement network refines (D0).
        initial_confidence: config -> whether the output carries D0's confidence instead of
            the network's own (:attr:`TorchModelAdapter.confidence_from_initial`).

    The file is read once, weights-only; the factory raises CheckpointError when it does not
    match (model name, architecture, input spec, state dict keys and shapes; strict).
    """
    def factory(config: Any, *, checkpoint: Path | None, device: Device | str = Device.AUTO,
                precision: Precision | str = Precision.FP32) -> DepthModel:
        if checkpoint is None:
            if missing_weights is not None:
                raise MissingWeightsError(missing_weights)
            raise ModelError(f"model {spec.name!r} needs weights: pass a checkpoint (it lists "
                             f"no default weights)")
        meta, state = read_checkpoint(checkpoint)
        if meta.model == spec.name:
            check_architecture(config, meta.config, architecture, path=checkpoint)
        module = build(config)
        apply_checkpoint(meta, state, module, path=checkpoint, model_name=spec.name,
                         input_spec=input_spec)
        model = TorchModelAdapter(spec, module, meta.input_spec, device=device,
                                  precision=precision, warmup=warmup,
                                  initial=None if initial is None else initial(config))
        model.confidence_from_initial = (initial_confidence is not None
                                         and initial_confidence(config))
        return model
    return factory
