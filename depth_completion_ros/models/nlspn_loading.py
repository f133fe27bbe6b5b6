"""Loading NLSPN's weights: which checkpoint format, which offsets, strict load.

A checkpoint is read once, weights-only
(:func:`~depth_completion_ros.models.authors_checkpoint.load_weights_only`). In the authors'
format (:func:`~depth_completion_ros.models.authors_checkpoint.authors_state_dict`) its state
dict is checked key by key and shape by shape against the network and loaded strictly; legacy
offsets default to on and the format is logged by name (and returned as a note the engine
keeps). Otherwise it must be this package's format 2, loaded by
:func:`~depth_completion_ros.models.checkpoint.load_checkpoint` after its stored config is
compared with the requested architecture.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models.authors_checkpoint import authors_state_dict, load_weights_only
from depth_completion_ros.models.checkpoint import (
    check_architecture,
    check_state_dict,
    load_checkpoint,
)
from depth_completion_ros.models.nlspn import INPUT_SPEC, SPEC, NLSPNConfig
from depth_completion_ros.networks.nlspn import NLSPNNet

_LOG = logging.getLogger(__name__)

#: config fields that change the weights' shapes (a stored config must agree on them)
_ARCHITECTURE = ("backbone_depth", "width", "prop_kernel")


def build_network(config: NLSPNConfig, *, legacy_offsets: bool = False) -> NLSPNNet:
    """The network of ``config`` (random weights), legacy offsets as given."""
    return NLSPNNet(config.backbone_depth, config.width, prop_time=config.prop_time,
                    prop_kernel=config.prop_kernel, affinity_gamma=config.affinity_gamma,
                    preserve_input=config.preserve_input, legacy_offsets=legacy_offsets)


def load_network(config: NLSPNConfig, checkpoint: str | Path) -> tuple[NLSPNNet, str | None]:
    """The network with the checkpoint's weights (strict), and a note when the file is in the
    authors' format (None otherwise).

    Raises:
        CheckpointError: unreadable / refused file, neither format, another model or input
            spec, a stored architecture other than ``config``'s, or keys / shapes that differ.
    """
    path = Path(checkpoint)
    payload = load_weights_only(path)
    state = authors_state_dict(payload)
    if state is None:
        return _load_package_format(config, path, payload), None
    legacy = True if config.legacy_offsets is None else config.legacy_offsets
    net = build_network(config, legacy_offsets=legacy)
    source = f"checkpoint {path} (NLSPN authors' format)"
    check_state_dict(net, state, source=source)
    net.load_state_dict(state, strict=True)
    note = (f"checkpoint {path} is in the NLSPN authors' format ({{'net': state_dict}}): "
            f"legacy offsets {'on' if legacy else 'off (config)'}, their preprocessing "
            f"(ImageNet mean / std on RGB in [0, 1], depth in metres, 1216x352 bottom crop)")
    _LOG.info(note)
    return net, note


def _load_package_format(config: NLSPNConfig, path: Path, payload: Any) -> NLSPNNet:
    """Format 2 (after the architecture check against the stored config)."""
    if not isinstance(payload, dict) or "format" not in payload:
        raise CheckpointError(f"{path} is neither a depth_completion_ros checkpoint nor in the "
                              f"authors' format (a dict whose 'net' maps names to tensors)")
    stored = payload.get("config")
    stored = stored if isinstance(stored, Mapping) else {}
    check_architecture(config, stored, _ARCHITECTURE, path=path)
    legacy = config.legacy_offsets
    if legacy is None:
        legacy = stored.get("legacy_offsets") is True
    net = build_network(config, legacy_offsets=legacy)
    load_checkpoint(path, net, model_name=SPEC.name, input_spec=INPUT_SPEC)
    return net
