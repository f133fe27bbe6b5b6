"""One rank of the two-process test (``test_distributed.py``), started by torchrun.

``python -m torch.distributed.run --standalone --nproc_per_node=2 ddp_worker.py CONFIG TMP``:
inside one gloo process group, each rank runs

1. ``depth-completion train --config CONFIG --out TMP/runs/whole`` (the CLI, ``run.max_steps``
   steps);
2. the same config in ``TMP/runs/split`` stopped after one step, then resumed to the end;

records every file it writes under ``TMP/runs`` (Python audit events: opens for writing,
renames, removals, new folders), the frames it trained on, the gradients of the split run's
first step (averaged over the ranks by DDP), this rank's own gradient of that step (its batch
through a copy of the initial weights, no averaging) and the parameters after it, and saves them
to ``TMP/rank<RANK>.pt``.
"""
from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.truncate", "shutil.copyfile",
               "shutil.rmtree", "os.symlink", "os.link")


def writes_under(root: Path) -> list[tuple[str, str]]:
    """Start recording (event, path) of every write below ``root``; returns the live list."""
    writes: list[tuple[str, str]] = []
    prefix = str(root)

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) \
                else bool(flags & WRITE_FLAGS)
            paths = [path] if writing else []
        elif event in PATH_EVENTS:  # a rename's source and destination
            paths = [arg for arg in args[:2] if isinstance(arg, (str, os.PathLike))]
        else:
            return
        writes.extend((event, os.fspath(path)) for path in paths
                      if isinstance(path, (str, os.PathLike))
                      and os.fspath(path).startswith(prefix))

    sys.addaudithook(audit)
    return writes


def main(config_path: str, tmp: str) -> None:
    import torch

    from depth_completion_ros.cli.main import main as cli
    from depth_completion_ros.training import distributed, loop
    from depth_completion_ros.training.config import load_config
    from depth_completion_ros.training.data import network_batch

    env = distributed.from_environ(os.environ)
    runs = Path(tmp) / "runs"
    writes = writes_under(runs)
    batches: list[Any] = []
    collate = loop.collate
    loop.collate = lambda samples: batches.append(collate(samples)) or batches[-1]
    with distributed.process_group(env, torch.device("cpu")):
        status = cli(["train", "--config", config_path, "--out", str(runs / "whole")])
        batches.clear()
        trainer = loop.Trainer(load_config(config_path, {"run.max_steps": 1}), runs / "split",
                               dist=env)
        initial = copy.deepcopy(trainer.state.module)
        first = trainer.run()
        grads = {n: p.grad.clone() for n, p in first.module.named_parameters()}
        inputs, target = network_batch(trainer.preprocessor, batches[0], torch.device("cpu"))
        depth = initial(**inputs)[:, :1] * trainer.network.input_spec.depth_scale
        trainer.loss_fn(depth, target).backward()
        local = {n: p.grad.clone() for n, p in initial.named_parameters()}
        second = loop.Trainer(load_config(config_path), runs / "split", resume=True,
                              dist=env).run()
    torch.save({"rank": env.rank, "world_size": env.world_size, "cli_status": status,
                "writes": writes, "frames": first.frames + second.frames,
                "losses": first.losses + second.losses, "grads": grads, "local_grads": local,
                "first_params": {n: p.detach() for n, p in first.module.named_parameters()},
                "last": None if second.last is None else str(second.last)},
               Path(tmp) / f"rank{env.rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
