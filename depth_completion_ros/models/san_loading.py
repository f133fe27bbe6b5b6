"""Loading the SAN authors' released checkpoint (TRI-ML/packnet-sfm,
``PackNetSAN01_HR_sup_K.ckpt``).

Their training code saves ``{'config', 'epoch', 'state_dict', 'optimizer', 'scheduler'}``: the
state dict of their model wrapper, whose depth network's keys start with ``model.depth_net.``
(a pose network, when trained with one, with ``model.pose_net.``), and ``config``, their yacs
``CfgNode``. This module reads such a file without running any code stored in it and builds
:class:`~depth_completion_ros.networks.san.packnet.PackNetSAN01Net` with its weights:

- **Reading**: ``torch.load(weights_only=True)``
  (:func:`~depth_completion_ros.models.authors_checkpoint.load_weights_only`) with one stand-in:
  the global ``yacs.config.CfgNode`` is read as an ``OrderedDict``. A CfgNode is a dict
  subclass pickled as "new object, set its items, set its attribute dict"; torch's weights-only
  unpickler sets items only on a dict, OrderedDict or Counter and attributes only on an
  OrderedDict among them, so an OrderedDict takes the config's entries (nested nodes alike) and
  yacs' bookkeeping attributes. yacs is never imported; any other global (a function, another
  class) is refused with a :class:`~depth_completion_ros.errors.CheckpointError` naming it.
- **Recognising**: a dict without this package's format marker whose ``state_dict`` holds
  ``model.depth_net.*`` tensors. ``optimizer`` and ``scheduler`` are ignored; keys outside
  ``model.depth_net.`` are ignored and named in the note.
- **Checking**: their config, when present, must name the depth network ``PackNetSAN01`` and a
  decoder version ending in ``A`` (a ``B`` decoder adds skips instead of concatenating them with
  the same parameter shapes: it would load and compute something else). Then every key and
  shape, strictly (missing, unexpected and mismatched keys listed).
- **Running**: their preprocessing is :data:`~depth_completion_ros.models.san.INPUT_SPEC` (RGB in
  [0, 1] without mean / std, depth in metres, bottom 352 rows and the centred 1216 columns,
  padded to 32).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models.authors_checkpoint import load_weights_only
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.models.checkpoint import FORMAT_MARKER, check_state_dict
from depth_completion_ros.models.san import INPUT_SPEC, SPEC
from depth_completion_ros.networks.san.packnet import PackNetSAN01Net

_LOG = logging.getLogger(__name__)

#: where their depth network's keys live in their file's state dict
PREFIX = "model.depth_net."
#: their config's class, read as an OrderedDict (module docstring); nothing else is admitted
STAND_INS: tuple[tuple[type, str], ...] = ((OrderedDict, "yacs.config.CfgNode"),)
#: the depth network this loader builds, as their config names it
NETWORK_NAME = "PackNetSAN01"
#: their dropout on the residual shortcuts (configs/train_packnet_san_kitti.yaml)
AUTHORS_DROPOUT = 0.5


def read_file(path: str | Path) -> Any:
    """The payload of a checkpoint file, weights-only, yacs configs read as OrderedDicts.

    Raises:
        CheckpointError: missing / unreadable file, or a stored global other than the admitted
            ones (named).
    """
    return load_weights_only(path, extra_globals=STAND_INS)


def authors_state_dict(payload: Any) -> tuple[dict[str, torch.Tensor], list[str]] | None:
    """The depth network's state dict (prefix stripped) and the ignored keys outside it, when
    ``payload`` is in the authors' layout; None otherwise.

    Raises:
        CheckpointError: a ``model.depth_net.`` entry that is not a tensor.
    """
    if not isinstance(payload, dict) or payload.get("format") == FORMAT_MARKER:
        return None
    state = payload.get("state_dict")
    if not isinstance(state, Mapping):
        return None
    keys = [k for k in state if isinstance(k, str) and k.startswith(PREFIX)]
    if not keys:
        return None
    bad = [k for k in keys if not isinstance(state[k], torch.Tensor)]
    if bad:
        raise CheckpointError(f"'state_dict' entries that are not tensors: {bad[:5]}")
    ours = set(keys)
    ignored = sorted(str(k) for k in state if k not in ours)
    return {k[len(PREFIX):]: state[k] for k in keys}, ignored


def check_config(config: Any, *, source: str) -> str:
    """A short description of their config's depth network; refuses another network.

    Raises:
        CheckpointError: the config names another depth network, or a decoder version other
            than ``?A``.
    """
    depth_net = _entry(_entry(config, "model"), "depth_net")
    name, version = depth_net.get("name"), depth_net.get("version")
    if name is not None and name != NETWORK_NAME:
        raise CheckpointError(f"{source}: its config's depth network is {name!r}; this loader "
                              f"builds {NETWORK_NAME!r}")
    if version is not None and (not isinstance(version, str) or not version.endswith("A")):
        raise CheckpointError(f"{source}: decoder version {version!r}; only version 'A' "
                              f"(concatenated skips, their released '1A') is built here")
    return f"depth_net {name or '(not named)'} version {version or '(not given)'}"


def _entry(node: Any, key: str) -> Mapping[str, Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def authors_network(payload: Any, path: str | Path) -> tuple[PackNetSAN01Net, str] | None:
    """The authors' network with the payload's weights (strict) and a note; None when the
    payload is not in their layout.

    Raises:
        CheckpointError: another depth network or decoder (their config), or keys / shapes
            that differ from theirs (listed).
    """
    found = authors_state_dict(payload)
    if found is None:
        return None
    state, ignored = found
    source = f"checkpoint {path} (SAN authors' layout)"
    described = check_config(payload.get("config"), source=source)
    net = PackNetSAN01Net(dropout=AUTHORS_DROPOUT)
    check_state_dict(net, state, source=source)
    net.load_state_dict(state, strict=True)
    note = (f"checkpoint {path} is in the SAN authors' layout (packnet-sfm, epoch "
            f"{payload.get('epoch', '?')}, {described}): backbone packnet01, {len(state)} "
            f"entries of {PREFIX}* loaded strictly, their preprocessing (RGB in [0, 1] without "
            f"mean / std, depth in metres, bottom 352 rows, centred 1216 columns); optimizer / "
            f"scheduler state ignored" + _ignored(ignored))
    _LOG.info(note)
    return net, note


def _ignored(keys: list[str]) -> str:
    if not keys:
        return ""
    groups = sorted({".".join(k.split(".")[:2]) for k in keys})
    return f"; {len(keys)} keys outside {PREFIX} ignored ({', '.join(groups)})"


def load_authors_san(path: str | Path) -> tuple[PackNetSAN01Net, str]:
    """Read ``path`` and build the authors' network from it.

    Raises:
        CheckpointError: see :func:`read_file` and :func:`authors_network`; also when the file
            is not in the authors' layout.
    """
    found = authors_network(read_file(path), path)
    if found is None:
        raise CheckpointError(f"checkpoint {path} is not in the SAN authors' layout (a dict "
                              f"whose 'state_dict' holds {PREFIX}* tensors)")
    return found


def authors_model(path: str | Path, *, device: Device | str = Device.AUTO,
                  precision: Precision | str = Precision.FP32) -> DepthModel | None:
    """The ``san`` model running the authors' network when ``path`` is in their layout (the
    note kept in ``engine.notes``); None for any other file (this package's format 2).

    Raises:
        CheckpointError: see :func:`read_file` and :func:`authors_network`.
    """
    found = authors_network(read_file(path), path)
    if found is None:
        return None
    net, note = found
    model = TorchModelAdapter(SPEC, net, INPUT_SPEC, device=device, precision=precision)
    model.engine.notes.append(note)
    return model
