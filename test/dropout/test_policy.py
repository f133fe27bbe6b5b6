"""The dropout policy: tier by scan age, confidence decay, the fitted time constant."""
from __future__ import annotations

import math

import pytest

from depth_completion_ros.dropout.policy import (
    DropoutConfig,
    choose_tier,
    fit_time_constant,
    stale_confidence,
)
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.status import Tier

CONFIG = DropoutConfig(stale_scan_max_age=1.0, confidence_time_constant=2.0)


@pytest.mark.parametrize("paired, age, rgb_only, tier, scale", [
    (True, 0.01, False, Tier.COMPLETION, 1.0),
    (True, None, True, Tier.COMPLETION, 1.0),
    (False, 0.0, True, Tier.STALE_SCAN, 1.0),
    (False, 0.5, False, Tier.STALE_SCAN, math.exp(-0.25)),
    (False, 1.0, True, Tier.STALE_SCAN, math.exp(-0.5)),     # the boundary is inclusive
    (False, -0.3, True, Tier.STALE_SCAN, math.exp(-0.15)),   # a scan newer than the image
    (False, 1.01, True, Tier.RGB_ONLY, 1.0),
    (False, None, True, Tier.RGB_ONLY, 1.0),                 # no scan ever: RGB-only at once
    (False, 1.01, False, Tier.NONE, 1.0),
    (False, None, False, Tier.NONE, 1.0),
])
def test_tier_table(paired, age, rgb_only, tier, scale):
    choice = choose_tier(paired=paired, scan_age=age, rgb_only=rgb_only, config=CONFIG)
    assert choice.tier == tier
    assert choice.confidence_scale == pytest.approx(scale)
    if tier == Tier.STALE_SCAN:
        assert choice.scan_age == pytest.approx(abs(age))


def test_max_age_zero_turns_the_stale_tier_off():
    config = DropoutConfig(stale_scan_max_age=0.0)
    assert choose_tier(paired=False, scan_age=0.1, rgb_only=True,
                       config=config).tier == Tier.RGB_ONLY


def test_confidence_halves_after_tau_ln2():
    assert stale_confidence(2.0 * math.log(2.0), 2.0) == pytest.approx(0.5)
    assert stale_confidence(0.0, 0.1) == 1.0


@pytest.mark.parametrize("kwargs", [{"stale_scan_max_age": -0.1},
                                    {"stale_scan_max_age": math.inf},
                                    {"confidence_time_constant": 0.0},
                                    {"confidence_time_constant": math.nan}])
def test_bad_config_is_refused(kwargs):
    with pytest.raises(ConfigError):
        DropoutConfig(**kwargs)


def test_time_constant_fitted_to_the_issue_figures():
    # issue 12: RMSE 2.49 m with the current scan, 3.62 (1 s), 5.29 m (2 s) on KITTI
    tau = fit_time_constant([0.0, 1.0, 2.0], [2.49, 3.62, 5.29])
    assert tau == pytest.approx(2.66, abs=0.01)
    assert math.exp(-1.0 / tau) == pytest.approx(2.49 / 3.62, abs=0.02)
    assert fit_time_constant([0.0, 1.0], [2.0, 1.5]) is None  # error falls: no decay to fit
