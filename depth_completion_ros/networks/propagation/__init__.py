"""Spatial-propagation layers, one module per model, and the sampling they share.

:mod:`.deformable`: neighbour grids and bilinear sampling at sub-pixel positions (zeros outside
the image) through ``torch.nn.functional.grid_sample``, no compiled extension.
:mod:`.nlspn`: NLSPN's non-local propagation (Park et al., ECCV 2020).
"""
from __future__ import annotations

from depth_completion_ros.networks.propagation.deformable import (
    kernel_offsets,
    neighbour_positions,
    sample_neighbours,
    sampling_grid,
)
from depth_completion_ros.networks.propagation.nlspn import (
    NLSPNPropagation,
    PropagationPlan,
    affinity_weights,
    preserve,
    propagate_once,
)

__all__ = ["NLSPNPropagation", "PropagationPlan", "affinity_weights", "kernel_offsets",
           "neighbour_positions", "preserve", "propagate_once", "sample_neighbours",
           "sampling_grid"]
