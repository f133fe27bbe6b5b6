"""Heads: decoder features -> one map at full resolution (initial depth, guidance, confidence).

Each head is two layers, ``dec1`` (on the decoder output and the stage-1 skip) and ``dec0`` (on
``dec1``'s output and the first-convolution skip), returned as a pair so the assembled network
names them itself (NLSPN: ``id_dec1`` / ``id_dec0``, ``gd_dec1`` / ``gd_dec0``, ``cf_dec1`` /
``cf_dec0``, the names of the authors' checkpoint); :func:`run_head` applies a pair to
:func:`head_input` (shared by the heads of one network) and the first-convolution map.
"""
from __future__ import annotations

from depth_completion_ros.networks.heads.confidence import confidence_head
from depth_completion_ros.networks.heads.depth import initial_depth_head
from depth_completion_ros.networks.heads.guidance import guidance_head
from depth_completion_ros.networks.heads.two_stage import HeadLayers, head_input, run_head

__all__ = ["HeadLayers", "confidence_head", "guidance_head", "head_input", "initial_depth_head",
           "run_head"]
