"""Network input from full-size camera tensors and back, batched: one code path for inference and
training.

Given an :class:`~depth_completion_ros.models.weights.InputSpec`, :class:`Preprocessor` takes a
batch of full-size images, sparse depths and intrinsics and returns the network's input: the
bottom-centre crop (:class:`~depth_completion_ros.geometry.crop.Crop`, clamped to smaller
images), RGB normalised, sparse depth in network units, both zero-padded right / bottom to the
stride, and K with its principal point moved by the crop. :meth:`Preprocessor.restore` is the
inverse for the network's output: full size again, NaN depth and 0 confidence outside the crop.
The functions below are the pure pieces; the module holds only the spec and the mean / std
buffers (so ``.to(device)`` moves them).

Example:
    >>> import torch
    >>> from depth_completion_ros.geometry.crop import Crop
    >>> pre = Preprocessor(InputSpec(crop=Crop(10, 6), stride=4))
    >>> K = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    >>> net = pre(None, torch.ones(2, 1, 8, 14), K)
    >>> tuple(net["rgb"].shape), tuple(net["sparse"].shape), net["K"][0, :2, 2].tolist()
    ((2, 3, 8, 12), (2, 1, 8, 12), [-2.0, -2.0])
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.geometry.crop import Box
from depth_completion_ros.models.weights import InputSpec

__all__ = ["InputSpec", "Preprocessor", "crop_intrinsics", "normalize_rgb", "pad_to_stride",
           "padded_size", "uncrop"]


def padded_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """(height, width) rounded up to multiples of ``stride``, pixels."""
    return -(-height // stride) * stride, -(-width // stride) * stride


def pad_to_stride(x: Tensor, stride: int, mode: str = "constant") -> Tensor:
    """(B, C, h, w) padded right and bottom to (B, C, ph, pw), multiples of ``stride``: zeros
    (``mode="constant"``) or the last row / column repeated (``"replicate"``)."""
    height, width = x.shape[-2:]
    ph, pw = padded_size(height, width, stride)
    if (ph, pw) == (height, width):
        return x
    return F.pad(x, (0, pw - width, 0, ph - height), mode=mode)


def crop_intrinsics(K: Tensor, box: Box) -> Tensor:
    """(B, 3, 3) intrinsics of the image cut to ``box = (x0, y0, w, h)`` (same dtype)."""
    x0, y0 = box[0], box[1]
    out = K.clone()
    out[..., 0, 2] -= x0
    out[..., 1, 2] -= y0
    return out


def normalize_rgb(rgb: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """(B, 3, h, w) uint8 (or float in 0..255) -> float32 ``(rgb / 255 - mean) / std``.

    Args:
        rgb: (B, 3, h, w).
        mean, std: (1, 3, 1, 1) float32 per-channel statistics of rgb / 255.
    """
    return (rgb.float() / 255.0 - mean) / std


def uncrop(x: Tensor, box: Box, height: int, width: int, fill: float) -> Tensor:
    """(B, C, h, w) placed at ``box`` in a (B, C, height, width) tensor filled with ``fill``."""
    x0, y0, w, h = box
    full = torch.full((*x.shape[:-2], height, width), fill, dtype=x.dtype, device=x.device)
    full[..., y0:y0 + h, x0:x0 + w] = x
    return full


class Preprocessor(nn.Module):
    """Full-size batch -> network input, and network output -> full-size depth / confidence.

    Args:
        spec: crop, normalisation, stride and depth scale of the weights.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, spec: InputSpec) -> None:
        super().__init__()
        self.spec = spec
        self.register_buffer("mean", torch.tensor(spec.rgb_mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(spec.rgb_std).view(1, 3, 1, 1),
                             persistent=False)

    def box(self, height: int, width: int) -> Box:
        """(x0, y0, w, h) of the network crop in a (height, width) image (clamped)."""
        return self.spec.crop.box(height, width, clamp=True)

    def forward(self, rgb: Tensor | None, sparse: Tensor | None, K: Tensor,
                initial: Tensor | None = None) -> dict[str, Tensor]:
        """The network's keyword inputs.

        Args:
            rgb: (B, 3, H, W) uint8 (or float 0..255), or None (zeros are passed).
            sparse: (B, 1, H, W) float metres, 0 = no measurement, or None (zeros).
            K: (B, 3, 3) intrinsics of the full-size images.
            initial: (B, 1, H, W) float metres, finite: the depth a refinement network starts
                from (D0, another model's output); None for the other networks.

        Returns:
            ``rgb`` (B, 3, ph, pw) float32 normalised, ``sparse`` (B, 1, ph, pw) float32 in
            depth units (metres / depth_scale), ``K`` (B, 3, 3) float32 of the crop, and with
            ``initial`` given, ``initial`` (B, 1, ph, pw) in depth units, padded by repeating
            its last row / column (not zeros: a refinement would pull towards 0 m); ph, pw are
            the crop's size padded to the stride.

        Raises:
            InputError: shapes that do not agree (expected vs actual), or no rgb and no sparse.
        """
        batch, height, width = _batch_shape(rgb, sparse, K)
        if initial is not None and tuple(initial.shape) != (batch, 1, height, width):
            raise InputError(f"preprocess: initial must be ({batch}, 1, {height}, {width}), "
                             f"got {tuple(initial.shape)}")
        box = self.box(height, width)
        x0, y0, w, h = box
        if rgb is None:
            rgb_in = torch.zeros(batch, 3, h, w, device=K.device)
        else:
            rgb_in = normalize_rgb(rgb[..., y0:y0 + h, x0:x0 + w], self.mean, self.std)
        if sparse is None:
            sparse_in = torch.zeros(batch, 1, h, w, device=K.device)
        else:
            sparse_in = sparse[..., y0:y0 + h, x0:x0 + w].float() / self.spec.depth_scale
        stride = self.spec.stride
        inputs = {"rgb": pad_to_stride(rgb_in, stride), "sparse": pad_to_stride(sparse_in, stride),
                  "K": crop_intrinsics(K, box).float()}
        if initial is not None:
            initial_in = initial[..., y0:y0 + h, x0:x0 + w].float() / self.spec.depth_scale
            inputs["initial"] = pad_to_stride(initial_in, stride, mode="replicate")
        return inputs

    def restore(self, out: Tensor, height: int, width: int) -> tuple[Tensor, Tensor]:
        """Network output back at full size.

        Args:
            out: (B, 1, ph, pw) depth in depth units, or (B, 2, ph, pw) depth and confidence.
            height, width: full image size, pixels.

        Returns:
            depth (B, H, W) float32 metres, NaN outside the crop; confidence (B, H, W) float32
            clipped to [0, 1] (1 where the network gives none), 0 outside the crop.

        Raises:
            ModelError: ``out`` is not (B, 1 | 2, ph, pw) for this image size.
        """
        box = self.box(height, width)
        x0, y0, w, h = box
        padded = padded_size(h, w, self.spec.stride)
        if out.ndim != 4 or out.shape[1] not in (1, 2) or tuple(out.shape[2:]) != padded:
            raise ModelError(f"network output: expected (B, 1|2, {padded[0]}, {padded[1]}), "
                             f"got {tuple(out.shape)}")
        out = out[:, :, :h, :w].float()
        depth = out[:, 0] * self.spec.depth_scale
        conf = out[:, 1].clamp(0, 1) if out.shape[1] == 2 else torch.ones_like(depth)
        return uncrop(depth, box, height, width, float("nan")), uncrop(conf, box, height, width,
                                                                       0.0)


def _batch_shape(rgb: Tensor | None, sparse: Tensor | None, K: Tensor) -> tuple[int, int, int]:
    """(B, H, W) shared by the inputs, else InputError naming expected vs actual."""
    if rgb is not None and (rgb.ndim != 4 or rgb.shape[1] != 3):
        raise InputError(f"preprocess: rgb must be (B, 3, H, W), got {tuple(rgb.shape)}")
    if sparse is not None and (sparse.ndim != 4 or sparse.shape[1] != 1):
        raise InputError(f"preprocess: sparse must be (B, 1, H, W), got {tuple(sparse.shape)}")
    if rgb is not None:
        batch, height, width = rgb.shape[0], rgb.shape[2], rgb.shape[3]
    elif sparse is not None:
        batch, height, width = sparse.shape[0], sparse.shape[2], sparse.shape[3]
    else:
        raise InputError("preprocess: expected rgb (B, 3, H, W) or sparse (B, 1, H, W), "
                         "got neither")
    if sparse is not None and (sparse.shape[0], *sparse.shape[2:]) != (batch, height, width):
        raise InputError(f"preprocess: sparse {tuple(sparse.shape)} does not match rgb "
                         f"(B, H, W) = {(batch, height, width)}")
    if tuple(K.shape) != (batch, 3, 3):
        raise InputError(f"preprocess: K must be ({batch}, 3, 3), got {tuple(K.shape)}")
    return int(batch), int(height), int(width)
