"""The node's active model(s), reloaded in the background and swapped in atomically.

Pure Python (no ROS): a load runs on a :class:`LatestWorker` (a newer request replaces a queued
one); on success the new :class:`ModelSet` replaces the old in one reference assignment, so a
frame in flight finishes on the model it started with; on failure the old set keeps serving and
the error is kept for diagnostics.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.sync.worker import LatestWorker


@dataclass(frozen=True)
class ModelKey:
    """What identifies a loaded model set (the parameters whose change forces a reload)."""

    model: str
    checkpoint: str = ""
    device: str = "auto"
    precision: str = "fp32"
    dropout_model: str = ""


@dataclass(frozen=True)
class ModelSet:
    """The active model and the optional RGB-only model for LiDAR dropout."""

    key: ModelKey
    model: DepthModel
    dropout_model: DepthModel | None


def load_models(key: ModelKey) -> ModelSet:
    """Build the models of ``key`` through the registry (raises ModelError / CheckpointError)."""
    model = get_model(key.model, checkpoint=key.checkpoint or None, device=key.device,
                      precision=key.precision)
    dropout = get_model(key.dropout_model, device=key.device, precision=key.precision) \
        if key.dropout_model else None
    return ModelSet(key, model, dropout)


class ModelSlot:
    """Holds the current :class:`ModelSet`; loads new ones off the caller's thread.

    Args:
        loader: builds a ModelSet from a key (default :func:`load_models`).
        on_result: called on the loader thread with the key and None or the load error.
    """

    def __init__(self, loader: Callable[[ModelKey], ModelSet] = load_models,
                 on_result: Callable[[ModelKey, Exception | None], None] | None = None) -> None:
        self._loader = loader
        self._on_result = on_result or (lambda key, err: None)
        self._lock = threading.Lock()
        self._current: ModelSet | None = None
        self.last_error: str | None = None
        self.pending: ModelKey | None = None
        self._worker: LatestWorker[ModelKey] = LatestWorker(
            self._load, on_error=self._failed, name="model-loader")

    @property
    def current(self) -> ModelSet | None:
        """The serving ModelSet (None before the first successful load)."""
        return self._current

    def load_now(self, key: ModelKey) -> ModelSet:
        """Load on the calling thread and swap in (start-up); errors propagate."""
        models = self._loader(key)
        self._current = models
        return models

    def request(self, key: ModelKey) -> None:
        """Load ``key`` in the background; no-op when it is already serving."""
        if self._current is not None and self._current.key == key:
            return
        with self._lock:
            self.pending = key
        self._worker.submit(key)

    def wait_idle(self, timeout: float) -> bool:
        """Wait for background loads to finish; False on timeout."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop the loader thread."""
        self._worker.stop()

    def _load(self, key: ModelKey) -> None:
        self._current = self._loader(key)
        with self._lock:
            self.last_error = None
            self.pending = None if self.pending == key else self.pending
        self._on_result(key, None)

    def _failed(self, key: ModelKey, err: BaseException) -> None:
        with self._lock:
            self.last_error = f"loading {key.model!r} failed: {err}"
            self.pending = None if self.pending == key else self.pending
        self._on_result(key, err if isinstance(err, Exception) else None)
