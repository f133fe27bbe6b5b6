"""Background model loading: atomic swap on success, old model kept on failure."""
from __future__ import annotations

from types import SimpleNamespace

from depth_completion_ros.errors import ModelError
from depth_completion_ros.ros.model_slot import ModelKey, ModelSet, ModelSlot


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
