"""The node builds its pipeline when settings or models change, not per frame, and a frame always
runs on settings and models of one moment (one Serving reference)."""
from __future__ import annotations

import pytest
from rclpy.parameter import Parameter

from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.ros import node as node_module


@pytest.fixture
def pipeline_count(monkeypatch: pytest.MonkeyPatch) -> list[DepthPipeline]:
    """Every DepthPipeline the node constructs, in order."""
    built: list[DepthPipeline] = []

    class Counting(DepthPipeline):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(node_module, "DepthPipeline", Counting)
    return built


def test_pipeline_built_on_change_not_per_frame(harness, frames, pipeline_count):
    h = harness()
    assert h.wait_ready()
    assert len(pipeline_count) == 1
    first = h.node.serving
    for i in range(4):
        stamp = 10.0 + 0.1 * i
        assert h.send_until(frames, i, stamp, lambda n=i + 1: h.count("depth") >= n)
    assert len(pipeline_count) == 1 and h.node.serving is first  # four frames, one pipeline

    result = h.node.set_parameters([Parameter("max_depth", value=50.0)])[0]
    assert result.successful
    assert len(pipeline_count) == 2
    serving = h.node.serving
    assert serving.settings.pipeline.max_depth == 50.0 and serving.pipeline.max_depth == 50.0
    assert serving.models is first.models  # same models, new settings

    assert h.node.set_parameters([Parameter("model", value="nearest")])[0].successful
    assert h.wait_for(lambda: h.node.serving.models.model.name == "nearest")
    serving = h.node.serving
    assert serving.pipeline.model is serving.models.model  # built from the models it names
    assert serving.pipeline.max_depth == 50.0 and serving.settings.model == "nearest"
