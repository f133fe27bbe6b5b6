"""The node's active model(s), reloaded in the background and swapped in atomically.

Pure Python (no ROS): a load runs on a :class:`LatestWorker` (a newer request replaces a queued
one); on success the new :class:`ModelSet` replaces the old in one reference assignment, so a
frame in flight finishes on the model it started with; on failure the old set keeps serving and
the error is kept for diagnostics. The slot serves what was requested *last*: a load that
finishes after a newer request is discarded, and a request for the set already serving cancels
a queued load of another one.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.models.engine_choice import with_engine
from depth_completion_ros.models.model_config import resolve_model_config
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.sync.worker import LatestWorker


@dataclass(frozen=True)
class ModelKey:
    """What identifies a loaded model set (the parameters whose change forces a reload).

    ``model_config`` is a model preset file (its config applies to ``model``; the dropout
    model keeps its defaults); ``dropout_checkpoint`` the dropout model's weights file (empty =
    its default weights)."""

    model: str
    checkpoint: str = ""
    device: str = "auto"
    precision: str = "fp32"
    dropout_model: str = ""
    model_config: str = ""
    engine: str = "torch"
    dropout_checkpoint: str = ""


@dataclass(frozen=True)
class ModelSet:
    """The active model and the optional model serving frames without LiDAR.

    ``dropout_error`` says why the requested dropout model is not serving (not registered,
    weights missing, needs LiDAR): the active model serves anyway, without the RGB-only tier.
    """

    key: ModelKey
    model: DepthModel
    dropout_model: DepthModel | None
    dropout_error: str = ""


#: dropout_model values that turn the RGB-only tier off
NO_DROPOUT_MODEL = ("", "none")


def load_models(key: ModelKey) -> ModelSet:
    """Build the models of ``key`` through the registry, run by its engine (raises ModelError /
    CheckpointError for the active model; a dropout model that cannot load is reported in
    :attr:`ModelSet.dropout_error` instead)."""
    config = resolve_model_config(key.model, key.model_config, {}) if key.model_config else None
    model = with_engine(get_model(key.model, config, checkpoint=key.checkpoint or None,
                                  device=key.device, precision=key.precision), key.engine)
    dropout, error = load_dropout_model(key)
    return ModelSet(key, model, dropout, error)


def load_dropout_model(key: ModelKey) -> tuple[DepthModel | None, str]:
    """The dropout model of ``key`` and "", or None and why it cannot serve ("" when none is
    requested). Never raises: the active model must serve whatever becomes of this one."""
    if key.dropout_model in NO_DROPOUT_MODEL:
        return None, ""
    try:
        model = with_engine(get_model(key.dropout_model, device=key.device,
                                      checkpoint=key.dropout_checkpoint or None,
                                      precision=key.precision), key.engine)
    except Exception as err:  # unknown name, missing weights, a broken file: report, go on
        return None, f"dropout_model {key.dropout_model!r} not loaded: {err}"
    if not model.spec.runs_without_lidar:
        return None, (f"dropout_model {key.dropout_model!r} not used: it cannot run without "
                      "LiDAR")
    return model, ""


class ModelSlot:
    """Holds the current :class:`ModelSet`; loads new ones off the caller's thread.

    Args:
        loader: builds a ModelSet from a key (default :func:`load_models`).
        on_result: called on the loader thread with the key and None or the load error; also
            called (with None) after a swap, so the owner can rebuild what depends on the model.
    """

    def __init__(self, loader: Callable[[ModelKey], ModelSet] = load_models,
                 on_result: Callable[[ModelKey, Exception | None], None] | None = None) -> None:
        self._loader = loader
        self._on_result = on_result or (lambda key, err: None)
        self._lock = threading.Lock()
        self._current: ModelSet | None = None
        self._wanted: ModelKey | None = None
        self.last_error: str | None = None
        self._worker: LatestWorker[ModelKey] = LatestWorker(
            self._load, on_error=self._failed, name="model-loader")

    @property
    def current(self) -> ModelSet | None:
        """The serving ModelSet (None before the first successful load)."""
        return self._current

    @property
    def pending(self) -> ModelKey | None:
        """The requested key while it is not serving yet (None when the request is served)."""
        with self._lock:
            current = self._current.key if self._current is not None else None
            return None if self._wanted == current else self._wanted

    def load_now(self, key: ModelKey) -> ModelSet:
        """Load on the calling thread and swap in (start-up); errors propagate."""
        models = self._loader(key)
        with self._lock:
            self._current, self._wanted = models, key
        return models

    def request(self, key: ModelKey) -> None:
        """Serve ``key``: load it in the background unless it is serving and nothing else is
        queued (a request back to the serving set cancels a queued or running other load)."""
        with self._lock:
            if self._wanted == key:
                return
            self._wanted = key
            serving = self._current is not None and self._current.key == key
        if serving:
            self.last_error = None
            return
        self._worker.submit(key)

    def wait_idle(self, timeout: float) -> bool:
        """Wait for background loads to finish; False on timeout."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop the loader thread."""
        self._worker.stop()

    def _load(self, key: ModelKey) -> None:
        with self._lock:
            if key != self._wanted:
                return  # superseded before it started
        models = self._loader(key)
        with self._lock:
            if key != self._wanted:
                return  # superseded while loading: the newer request decides what serves
            self._current = models
            self.last_error = None
        self._on_result(key, None)

    def _failed(self, key: ModelKey, err: BaseException) -> None:
        with self._lock:
            if key != self._wanted:
                return
            self.last_error = f"loading {key.model!r} failed: {err}"
            self._wanted = self._current.key if self._current is not None else None
        self._on_result(key, err if isinstance(err, Exception) else None)
