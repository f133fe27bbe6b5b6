"""Background model loading: atomic swap on success, old model kept on failure."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from depth_completion_ros.errors import ModelError
from depth_completion_ros.runtime.model_slot import ModelKey, ModelSet, ModelSlot, load_models


def _loader(key: ModelKey) -> ModelSet:
    if key.model == "broken":
        raise ModelError("checkpoint does not match")
    return ModelSet(key, SimpleNamespace(name=key.model), None)


def test_swap_on_success_and_keep_old_on_failure():
    results = []
    slot = ModelSlot(_loader, on_result=lambda key, err: results.append((key.model, err)))
    slot.load_now(ModelKey("a"))
    slot.request(ModelKey("b"))
    assert slot.wait_idle(5)
    assert slot.current.model.name == "b" and slot.last_error is None
    slot.request(ModelKey("broken"))
    assert slot.wait_idle(5)
    assert slot.current.model.name == "b"
    assert slot.last_error == "loading 'broken' failed: checkpoint does not match"
    assert [m for m, _ in results] == ["b", "broken"] and isinstance(results[1][1], ModelError)
    slot.request(ModelKey("b"))  # already serving: nothing to do
    assert slot.wait_idle(5) and len(results) == 2
    slot.close()


def test_the_last_request_serves_even_when_it_is_the_serving_model():
    """Serving b, request slow s, then a, then b again: b serves (the last request), never a."""
    import threading

    release = threading.Event()
    loaded = []

    def slow_loader(key: ModelKey) -> ModelSet:
        if key.model == "slow":
            release.wait(5)
        loaded.append(key.model)
        return _loader(key)

    slot = ModelSlot(slow_loader)
    slot.load_now(ModelKey("b"))
    slot.request(ModelKey("slow"))   # starts loading, blocked
    slot.request(ModelKey("a"))      # queued behind it
    slot.request(ModelKey("b"))      # back to the serving model: cancels both
    assert slot.pending is None
    release.set()
    assert slot.wait_idle(5)
    assert slot.current.model.name == "b"
    assert "a" not in loaded  # the queued load of a never ran
    slot.request(ModelKey("a"))
    assert slot.pending == ModelKey("a")
    assert slot.wait_idle(5) and slot.current.model.name == "a" and slot.pending is None
    slot.close()


def test_a_load_finishing_after_a_newer_request_is_discarded():
    import threading

    release = threading.Event()

    def slow_loader(key: ModelKey) -> ModelSet:
        if key.model == "slow":
            release.wait(5)
        return _loader(key)

    slot = ModelSlot(slow_loader)
    slot.load_now(ModelKey("b"))
    slot.request(ModelKey("slow"))
    slot.request(ModelKey("c"))
    release.set()
    assert slot.wait_idle(5)
    assert slot.current.model.name == "c"
    slot.close()


@pytest.mark.parametrize("dropout, error", [
    ("no_such_model", "dropout_model 'no_such_model' not loaded: "),
    ("nearest", "dropout_model 'nearest' not used: it cannot run without LiDAR"),
    ("none", ""), ("", "")])
def test_a_dropout_model_that_cannot_serve_leaves_the_active_model_serving(dropout, error):
    models = load_models(ModelKey("classical", device="cpu", dropout_model=dropout))
    assert models.model.name == "classical" and models.dropout_model is None
    assert models.dropout_error.startswith(error) and bool(models.dropout_error) == bool(error)
