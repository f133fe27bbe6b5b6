"""Reading a checkpoint file safely, and recognising a paper's authors' format.

Published research weights are often a bare ``torch.save({'net': state_dict, ...})`` (NLSPN:
``{'net': ..., 'args': argparse.Namespace}``), not this package's format 2
(:mod:`~depth_completion_ros.models.checkpoint`). :func:`load_weights_only` reads either with
``torch.load(weights_only=True)``: tensors and plain containers only, plus ``argparse.Namespace``
(an attribute bag whose values go through the same restricted unpickler), so no code stored in a
file ever runs. A file holding any other Python object is refused with a message that names the
object and says how to keep only the weights. :func:`authors_state_dict` tells the two formats
apart.
"""
from __future__ import annotations

import argparse
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models.checkpoint import FORMAT_MARKER

#: the only non-container type admitted in a checkpoint (the authors' training arguments)
SAFE_GLOBALS: tuple[type, ...] = (argparse.Namespace,)


def load_weights_only(path: str | Path, *, extra_globals: Sequence[Any] = ()) -> Any:
    """The payload of a torch file, weights-only, on the CPU (memory-mapped where possible).

    Args:
        path: the file.
        extra_globals: more entries for ``torch.serialization.safe_globals`` beside
            :data:`SAFE_GLOBALS` (a class, or ``(class, "module.Name")`` to read a stored class
            as a harmless stand-in), for one format's loader.

    Raises:
        CheckpointError: the file does not exist, is not a torch file, or holds Python objects
            that a weights-only load refuses (the message names them).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    with torch.serialization.safe_globals([*SAFE_GLOBALS, *extra_globals]):
        try:
            return _load(path, mmap=True)
        except pickle.UnpicklingError as err:
            raise CheckpointError(_refused(path, err)) from err
        except RuntimeError:  # not a zip archive (legacy torch format): no memory map
            pass
        try:
            return _load(path, mmap=False)
        except pickle.UnpicklingError as err:
            raise CheckpointError(_refused(path, err)) from err
        except Exception as err:  # torch raises RuntimeError / EOFError / ValueError ...
            raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not a torch "
                                  f"file): {err}") from err


def _load(path: Path, *, mmap: bool) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def _refused(path: Path, err: Exception) -> str:
    """One line: what was refused and how to keep only the weights of a trusted file."""
    detail = next((line.strip() for line in str(err).splitlines()
                   if "Unsupported" in line or "global" in line.lower()), str(err).strip())
    return (f"checkpoint {path} holds Python objects that a weights-only load refuses "
            f"({detail}); this package never unpickles code from a checkpoint. If you trust the "
            f"file, re-save only its weights from your own Python session, in the layout its "
            f"loader reads (NLSPN: {{'net': state_dict}}; SAN: {{'state_dict': "
            f"{{'model.depth_net.<name>': tensor}}}}), and pass that file")


def authors_state_dict(payload: Any) -> dict[str, torch.Tensor] | None:
    """``payload['net']`` when ``payload`` is in the authors' format, else None.

    The authors' format: a dict without this package's ``format`` marker whose ``'net'`` maps
    parameter names to tensors (other entries, e.g. ``'args'``, ``'optimizer'``, are ignored).
    """
    if not isinstance(payload, dict) or payload.get("format") == FORMAT_MARKER:
        return None
    net = payload.get("net")
    if not isinstance(net, dict) or not net:
        return None
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in net.items()):
        return None
    return net
