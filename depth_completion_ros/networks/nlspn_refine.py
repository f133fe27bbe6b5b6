"""NLSPN's propagation in the SDR framework: refine an initial depth D0 from any estimator.

MSPN's paper (Jun, Lee, Kim, CVPR 2024) frames depth completion as *sparsity-adaptive depth
refinement* (SDR): a fixed estimator gives D0 from the sparse depth, and a guidance network plus
a spatial propagation network refine D0 with the image and the measurements. The paper runs
CSPN, NLSPN and others in that framework beside its own masked propagation. This network is
the NLSPN one:

- guidance Θ(I, S, D0): MSPN's guidance U-Net (:class:`~.mspn.MSPNGuidance`, the stem that
  reads image, sparse depth and D0), ``embed_dim`` channels;
- confidence of D0: a 3x3 convolution of the guidance and a sigmoid, starting at 0.98
  everywhere (weights 0, bias 4), as NLSPN predicts the confidence of its own initial depth;
- propagation: NLSPN's (:class:`~.propagation.nlspn.NLSPNPropagation`): deformable k x k
  neighbours, Tanh-γ-Abs-Sum* affinities, measurements reset before each step. Its last
  convolution starts at 0, so the untrained network returns D0 with the measurements written
  in. The output is clamped to the range of D0 and the measurements within ``prop_time``
  pixels (:meth:`NLSPNRefineNet.within_reach`).

It has no counterpart in NLSPN's authors' code (their network predicts its own initial depth);
it is this package's, for refining a learning-free D0 with little training data.

Example:
    >>> import torch
    >>> net = NLSPNRefineNet(width=8, embed_dim=4, prop_time=2).eval()
    >>> with torch.no_grad():
    ...     out = net(torch.zeros(1, 3, 17, 21), torch.zeros(1, 1, 17, 21), torch.eye(3)[None],
    ...               initial=torch.full((1, 1, 17, 21), 10.0))
    >>> tuple(out.shape), round(float(out[0, 0].mean()), 3)
    ((1, 2, 17, 21), 10.0)
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from depth_completion_ros.networks.mspn import MSPNGuidance
from depth_completion_ros.networks.propagation.nlspn import NLSPNPropagation

#: the confidence head's initial bias: sigmoid(4) = 0.98
CONFIDENCE_INIT_BIAS = 4.0


class NLSPNRefineNet(nn.Module):
    """Guidance ``backbone``, confidence head ``conf_head``, propagation ``prop_layer``.

    Args:
        width: guidance network channels at full resolution (a multiple of 4).
        embed_dim: guidance channels.
        prop_time: propagation steps.
        kernel: propagation window (odd, >= 3).
        affinity_gamma: NLSPN's initial γ / neighbours.
    """

    def __init__(self, width: int = 64, embed_dim: int = 64, *, prop_time: int = 12,
                 kernel: int = 3, affinity_gamma: float = 0.5) -> None:
        super().__init__()
        self.backbone = MSPNGuidance(width, embed_dim)
        self.conf_head = nn.Conv2d(embed_dim, 1, 3, padding=1)
        nn.init.zeros_(self.conf_head.weight)
        self.conf_head.bias = nn.Parameter(torch.full((1,), CONFIDENCE_INIT_BIAS))
        self.prop_layer = NLSPNPropagation(embed_dim, kernel, prop_time=prop_time,
                                           affinity_gamma=affinity_gamma, preserve_input=True)

    def forward(self, rgb: Tensor, sparse: Tensor, K: Tensor, initial: Tensor) -> Tensor:
        """The engine's network contract: (B, 2, H, W) refined depth (>= 0) and the predicted
        confidence of D0 in [0, 1].

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) measurements (network units, 0 = none).
            K: unused (the engine's contract).
            initial: (B, 1, H, W) D0 (network units), finite everywhere.
        """
        guidance = self.backbone(rgb, sparse, initial)
        confidence = torch.sigmoid(self.conf_head(guidance))
        depth = self.prop_layer(initial, guidance, confidence, sparse)
        return torch.cat((self.within_reach(depth, initial, sparse), confidence.float()), dim=1)

    def within_reach(self, depth: Tensor, initial: Tensor, sparse: Tensor) -> Tensor:
        """``depth`` clamped, per pixel, to the range of D0 and the measurements within
        ``prop_time`` pixels (a (2 prop_time + 1)² window).

        Signed affinities let the propagation extrapolate: on inputs unlike its training data
        (a trained network given all 64 beams) a few pixels at depth edges went below 0. Depth
        that reaches no further than the propagation's window cannot be garbage of that kind.
        """
        reach = 2 * self.prop_layer.prop_time + 1
        if reach == 1:
            return depth
        start = initial.float()
        known = torch.where(sparse > 0, sparse.float(), start)
        low = torch.minimum(start, known)
        high = torch.maximum(start, known)
        pad = reach // 2
        high = nn.functional.max_pool2d(high, reach, stride=1, padding=pad)
        low = -nn.functional.max_pool2d(-low, reach, stride=1, padding=pad)
        return torch.minimum(torch.maximum(depth, low), high)
