"""Distributed training: torchrun's environment, the sharded sampler, and two real CPU processes
(gloo) through torchrun: distinct frames per rank, rank 0 alone writes, the gradients agree (and
are the mean of the ranks' own), a resumed run continues the uninterrupted one; a state of
another number of processes resumes with fresh per-rank generators."""
from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch.utils.data import DistributedSampler

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.training.config import TrainConfig
from depth_completion_ros.training.distributed import (
    SINGLE,
    DistEnv,
    ShardSampler,
    backend_for,
    from_environ,
)
from depth_completion_ros.training.loop import Trainer
from depth_completion_ros.training.state import STATE_FILE

WORKER = Path(__file__).with_name("ddp_worker.py")
RENDEZVOUS = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, SINGLE),
    ({"LOCAL_RANK": "0"}, SINGLE),  # a launcher's leftover without a world
    ({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", **RENDEZVOUS}, SINGLE),
    ({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", **RENDEZVOUS}, DistEnv(3, 4, 1)),
])
def test_environment_of_torchrun(environ, expected):
    assert from_environ(environ) == expected


@pytest.mark.parametrize(("environ", "words"), [
    ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}, "MASTER_ADDR, MASTER_PORT not set"),
    ({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0", **RENDEZVOUS}, "RANK 2, WORLD_SIZE 2"),
    ({"RANK": "a", "WORLD_SIZE": "2", "LOCAL_RANK": "0", **RENDEZVOUS}, "must be integers"),
])
def test_bad_environment_is_a_config_error(environ, words):
    with pytest.raises(ConfigError, match=words):
        from_environ(environ)


def test_backend_per_device():
    assert backend_for(torch.device("cpu")) == "gloo"
    assert backend_for(torch.device("cuda", 1)) == "nccl"


def test_shards_are_disjoint_within_an_epoch_and_follow_torch():
    shards = [ShardSampler(11, DistEnv(rank, 3), seed=5) for rank in range(3)]
    epochs = [shard.take(2 * len(shard)) for shard in shards]  # two epochs of 3 each
    assert all(len(shard) == 3 for shard in shards)
    for epoch in (slice(0, 3), slice(3, 6)):
        seen = [set(taken[epoch]) for taken in epochs]
        assert sum(map(len, seen)) == 9 and len(set.union(*seen)) == 9  # 11 - 11 % 3
    assert epochs[0][:3] != epochs[0][3:]  # a new permutation each epoch
    reference = DistributedSampler(range(11), num_replicas=3, rank=1, seed=5,  # type: ignore
                                   drop_last=True)
    reference.set_epoch(1)
    assert epochs[1][3:] == list(reference)


def test_shard_sampler_continues_from_its_state():
    whole = ShardSampler(7, DistEnv(1, 2), seed=0).take(9)
    first = ShardSampler(7, DistEnv(1, 2), seed=0)
    head = first.take(4)
    second = ShardSampler(7, DistEnv(1, 2), seed=0)
    second.load_state_dict(first.state_dict())
    assert first.state_dict() == {"epoch": 1, "offset": 1}
    assert head + second.take(5) == whole


def test_fewer_frames_than_processes_is_a_config_error():
    with pytest.raises(ConfigError, match="1 training frame"):
        ShardSampler(1, DistEnv(0, 2), seed=0)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory, tiny: Callable[..., dict]
              ) -> tuple[Path, list[dict]]:
    """torchrun with 2 CPU processes (gloo) running ddp_worker.py: the 4 sample frames, batch 1,
    2 steps, validation at the end on rank 0, no clipping (the gradients compared are DDP's)."""
    tmp = tmp_path_factory.mktemp("ddp")
    config = tmp / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny(
        data={"train": [{"kind": "kitti_raw", "path": str(SAMPLE_DIR)}]},
        validation={"sources": [{"kind": "kitti_raw", "path": str(SAMPLE_DIR),
                                 "max_frames": 1}], "lines": [32], "every": 100},
        optim={"grad_clip": 0.0},
        run={"max_steps": 2, "batch_size": 1, "threads": 1})))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(WORKER), str(config), str(tmp)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ranks = [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in range(2)]
    return tmp / "runs", ranks


def test_each_rank_trains_on_other_frames(two_ranks):
    _, ranks = two_ranks
    assert [r["world_size"] for r in ranks] == [2, 2]
    frames = [r["frames"] for r in ranks]
    assert [len(f) for f in frames] == [2, 2]  # 2 steps of 1 sample each
    assert set(frames[0]).isdisjoint(frames[1]) and set(frames[0] + frames[1]) == {0, 1, 2, 3}


def test_rank_0_alone_writes(two_ranks):
    runs, ranks = two_ranks
    assert [r["cli_status"] for r in ranks] == [0, 0]
    assert ranks[1]["writes"] == []
    written = {Path(path).relative_to(runs).as_posix() for _, path in ranks[0]["writes"]}
    assert {"whole/config.yaml", "whole/log.csv", "whole/state.pt",
            "split/state.pt"} <= written
    for run in ("whole", "split"):
        assert {p.name for p in (runs / run).iterdir()} == {
            "config.yaml", "log.csv", STATE_FILE, "last.pt", "best.pt"}
    with (runs / "whole" / "log.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["step"]) for r in rows] == [1, 2]  # once each: one writer
    assert ranks[0]["last"] == str(runs / "split" / "last.pt") and ranks[1]["last"] is None


def test_gradients_agree_and_are_the_mean_of_the_ranks(two_ranks):
    _, ranks = two_ranks
    names = list(ranks[0]["grads"])
    local = [r["local_grads"] for r in ranks]
    assert any(not torch.allclose(local[0][n], local[1][n]) for n in names)  # other data
    for name in names:
        torch.testing.assert_close(ranks[1]["grads"][name], ranks[0]["grads"][name],
                                   rtol=0, atol=0)
        torch.testing.assert_close(ranks[0]["grads"][name], (local[0][name] + local[1][name]) / 2,
                                   rtol=1e-4, atol=1e-7)
    # the parameters after the step (BatchNorm's running statistics are each rank's own; DDP
    # broadcasts rank 0's before every forward pass)
    for name, value in ranks[0]["first_params"].items():
        torch.testing.assert_close(ranks[1]["first_params"][name], value, rtol=0, atol=0)


def test_resumed_run_continues_the_uninterrupted_one(two_ranks):
    runs, ranks = two_ranks
    with (runs / "whole" / "log.csv").open() as stream:
        whole = [float(r["loss"]) for r in csv.DictReader(stream)]
    for rank in ranks:
        assert [s for s, _ in rank["losses"]] == [1, 2]
        assert [v for _, v in rank["losses"]] == pytest.approx(whole, rel=1e-5)
    states = [torch.load(runs / run / STATE_FILE, weights_only=True) for run in ("whole", "split")]
    assert states[1]["step"] == 2 and len(states[1]["ranks"]) == 2
    assert [r["sampler"] for r in states[1]["ranks"]] == [{"epoch": 0, "offset": 2}] * 2
    for key, value in states[0]["model"].items():
        torch.testing.assert_close(states[1]["model"][key], value)


def test_resume_with_another_number_of_processes_reseeds_with_a_warning(
        tiny_config: Callable[..., TrainConfig], tmp_path: Path,
        caplog: pytest.LogCaptureFixture):
    Trainer(tiny_config(run={"max_steps": 1}), tmp_path).run()
    payload = torch.load(tmp_path / STATE_FILE, weights_only=True)
    payload["ranks"] = payload["ranks"] * 2  # as if two processes had written it
    torch.save(payload, tmp_path / STATE_FILE)
    with caplog.at_level(logging.WARNING):
        resumed = Trainer(tiny_config(run={"max_steps": 2}), tmp_path, resume=True)
    assert "saved by another number of processes" in caplog.text
    assert resumed.state.step == 1
    fresh = np.random.default_rng([3, 0, 1]).integers(1 << 30)  # seed 3, rank 0, step 1
    assert resumed.state.rng.integers(1 << 30) == fresh
