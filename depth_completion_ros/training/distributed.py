"""Data-parallel training on PyTorch's own engine, configured from torchrun's environment.

``torchrun --nproc_per_node=N`` (or several nodes through its rendezvous) starts N copies of
``depth-completion train``, each with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` set. :func:`from_environ` reads them into a :class:`DistEnv` (no variable
set: one process, :data:`SINGLE`); :func:`process_group` starts ``torch.distributed`` with
``nccl`` on CUDA and ``gloo`` on the CPU; :func:`wrap` puts the network in
``DistributedDataParallel`` (gradients averaged over the ranks in the backward pass);
:class:`ShardSampler` walks torch's ``DistributedSampler``, so within an epoch every rank trains
on frames no other rank sees. Rank 0 alone validates, logs and writes files (the loop's
business); the collectives here keep the ranks in step (the mean loss, the wall-clock stop, the
per-rank RNG states gathered into one ``state.pt``).

Example:
    >>> from_environ({}) == SINGLE
    True
    >>> env = from_environ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1",
    ...                     "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"})
    >>> env.rank, env.world_size, env.enabled, env.is_main
    (1, 2, True, False)
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from depth_completion_ros.errors import ConfigError

#: what torchrun sets for every worker (the rendezvous address and port included)
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the run: ``rank`` of ``world_size`` processes in all,
    ``local_rank`` on its node (its GPU index)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that logs, validates and writes."""
        return self.rank == 0


SINGLE = DistEnv()


def from_environ(environ: Mapping[str, str]) -> DistEnv:
    """The :class:`DistEnv` torchrun's variables describe; none of them set = :data:`SINGLE`.

    Raises:
        ConfigError: some variables set and others not, a non-integer, or a rank out of range.
    """
    present = [name for name in TORCHRUN_VARIABLES if environ.get(name)]
    if not present or present == ["LOCAL_RANK"] or environ.get("WORLD_SIZE") == "1":
        return SINGLE
    missing = [name for name in TORCHRUN_VARIABLES if name not in present]
    if missing:
        raise ConfigError(f"distributed training: {', '.join(missing)} not set (found "
                          f"{', '.join(present)}); start the processes with torchrun")
    try:
        rank, world, local = (int(environ[name]) for name in TORCHRUN_VARIABLES[:3])
    except ValueError as err:
        raise ConfigError(f"distributed training: RANK, WORLD_SIZE, LOCAL_RANK must be "
                          f"integers: {err}") from err
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"distributed training: expected 0 <= RANK < WORLD_SIZE and "
                          f"LOCAL_RANK >= 0, got RANK {rank}, WORLD_SIZE {world}, LOCAL_RANK "
                          f"{local}")
    return DistEnv(rank, world, local)


def rank_device(device: torch.device, env: DistEnv) -> torch.device:
    """``cuda`` -> ``cuda:LOCAL_RANK`` (made the current device); the CPU as it is.

    Raises:
        ConfigError: more processes on this node than GPUs.
    """
    if device.type != "cuda" or not env.enabled:
        return device
    count = torch.cuda.device_count()
    if env.local_rank >= count:
        raise ConfigError(f"distributed training: LOCAL_RANK {env.local_rank} but {count} "
                          f"GPU(s) on this node; start at most {count} processes per node")
    torch.cuda.set_device(env.local_rank)
    return torch.device("cuda", env.local_rank)


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA tensors, ``gloo`` for CPU ones."""
    return "nccl" if device.type == "cuda" else "gloo"


@contextlib.contextmanager
def process_group(env: DistEnv, device: torch.device) -> Iterator[None]:
    """``torch.distributed`` for ``env`` while the block runs (rendezvous at ``MASTER_ADDR``:
    ``MASTER_PORT``), destroyed after it. Nothing to do with one process, or when a group is
    already up (the caller's, left alone)."""
    if not env.enabled or dist.is_initialized():
        yield
        return
    dist.init_process_group(backend_for(device), rank=env.rank, world_size=env.world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def require_group(env: DistEnv) -> None:
    """Raise ConfigError when ``env`` has several processes but no process group is up."""
    if env.enabled and not dist.is_initialized():
        raise ConfigError(f"distributed training: rank {env.rank} of {env.world_size} without "
                          f"a process group (run inside distributed.process_group)")


def wrap(module: nn.Module, env: DistEnv, device: torch.device) -> nn.Module:
    """``module`` in ``DistributedDataParallel`` (rank 0's weights broadcast now, gradients
    averaged in each backward pass); ``module`` itself with one process."""
    if not env.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def no_sync(module: nn.Module, skip: bool) -> contextlib.AbstractContextManager[Any]:
    """Accumulate this backward pass locally (``skip``: not the last of the accumulated
    batches) instead of averaging it over the ranks."""
    if skip and isinstance(module, DistributedDataParallel):
        return module.no_sync()
    return contextlib.nullcontext()


def mean(value: float, env: DistEnv, device: torch.device) -> float:
    """The mean of ``value`` over the ranks (``value`` with one process)."""
    if not env.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor) / env.world_size


def any_rank(flag: bool, env: DistEnv, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on one (so all stop at the same step)."""
    if not env.enabled:
        return flag
    tensor = torch.tensor([int(flag)], dtype=torch.int32, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor)


def gather(value: Any, env: DistEnv) -> list[Any]:
    """Every rank's ``value`` (picklable), in rank order, on every rank."""
    if not env.enabled:
        return [value]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, value)
    return out


def barrier(env: DistEnv, device: torch.device) -> None:
    """Wait for every rank (e.g. until rank 0 has written the run folder)."""
    if env.enabled:
        dist.barrier(device_ids=[device.index] if device.type == "cuda" else None)


class _Frames(Dataset[int]):
    """Only the length of the frame list, which is all the sampler reads."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> int:
        return index


class ShardSampler:
    """Frame indices of one rank, epoch after epoch, from torch's ``DistributedSampler``.

    Each epoch is a permutation drawn from ``seed + epoch`` (the same on every rank); rank r
    takes its positions r, r + W, ... of it, the last ``len % W`` frames left out so that no
    frame repeats within an epoch. ``epoch`` and ``offset`` (indices taken in the epoch) go into
    the training state, so a resumed run continues the same sequence.

    Args:
        length: frames in the training set.
        env: the rank and the number of processes.
        seed: the run's seed.

    Raises:
        ConfigError: fewer frames than processes.

    Example:
        >>> shards = [ShardSampler(5, DistEnv(r, 2), seed=0) for r in range(2)]
        >>> a, b = shards[0].take(3), shards[1].take(3)
        >>> set(a[:2]).isdisjoint(b[:2]), len(shards[0]), shards[0].state_dict()
        (True, 2, {'epoch': 1, 'offset': 1})
    """

    def __init__(self, length: int, env: DistEnv, *, seed: int) -> None:
        if length < env.world_size:
            raise ConfigError(f"distributed training: {length} training frame(s) for "
                              f"{env.world_size} processes; each process needs one per epoch")
        self._sampler: DistributedSampler[int] = DistributedSampler(
            _Frames(length), num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=seed,
            drop_last=True)
        self.epoch, self.offset = 0, 0
        self._order: list[int] = []
        self._order_epoch = -1

    def __len__(self) -> int:
        """Indices per epoch (per rank)."""
        return len(self._sampler)

    def take(self, count: int) -> list[int]:
        """The next ``count`` frame indices, into the next epoch when this one ends."""
        out: list[int] = []
        while len(out) < count:
            if self.offset == len(self):
                self.epoch, self.offset = self.epoch + 1, 0
            if self._order_epoch != self.epoch:
                self._sampler.set_epoch(self.epoch)
                self._order, self._order_epoch = list(self._sampler), self.epoch
            out.append(self._order[self.offset])
            self.offset += 1
        return out

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "offset"}``: where the sequence continues."""
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from :meth:`state_dict`'s position."""
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])
