"""CSPN's propagation: a loop written from the paper's equations, the authors' neighbour reading
and normalisation, the replacement of measured pixels, the zero-gate case, the derived
confidence's parts, and gradcheck in float64."""
from __future__ import annotations

import pytest
import torch

from depth_completion_ros.networks.propagation.cspn import (
    DIRECTIONS,
    CSPNPropagation,
    cspn_weights,
    derived_confidence,
    propagate_once,
    window_weights,
)


def _loop_step(depth: torch.Tensor, gates: torch.Tensor, centre_depth: torch.Tensor
               ) -> torch.Tensor:
    """One step pixel by pixel (paper Eq. 1, gates read at the neighbour as the authors' code):
    ``x'(q) = (1 - Σ w) centre(q) + Σ_c w_c x(q - e_c)``, ``w_c = g_c(q - e_c) / Σ |g(q - e)|``."""
    batch, _, height, width = depth.shape
    out = torch.zeros_like(depth)
    for b in range(batch):
        for y in range(height):
            for x in range(width):
                gs, xs = [], []
                for c, (dy, dx) in enumerate(DIRECTIONS):
                    yy, xx = y - dy, x - dx
                    inside = 0 <= yy < height and 0 <= xx < width
                    gs.append(float(gates[b, c, yy, xx]) if inside else 0.0)
                    xs.append(float(depth[b, 0, yy, xx]) if inside else 0.0)
                total = sum(abs(g) for g in gs)
                w = [g / total for g in gs] if total > 0 else [0.0] * 8
                out[b, 0, y, x] = ((1.0 - sum(w)) * float(centre_depth[b, 0, y, x])
                                   + sum(wi * xi for wi, xi in zip(w, xs)))
    return out


def _case(seed: int, height: int = 6, width: int = 7):
    generator = torch.Generator().manual_seed(seed)
    gates = torch.randn(2, 8, height, width, generator=generator, dtype=torch.float64)
    depth = 1.0 + 30.0 * torch.rand(2, 1, height, width, generator=generator,
                                    dtype=torch.float64)
    measured = torch.rand(2, 1, height, width, generator=generator) < 0.2
    sparse = torch.where(measured, 5.0 + 40.0 * torch.rand(2, 1, height, width,
                                                           generator=generator,
                                                           dtype=torch.float64), 0.0)
    return gates, depth, sparse


@pytest.mark.parametrize("seed", [0, 1])
def test_one_step_equals_the_pixel_loop(seed):
    gates, depth, _ = _case(seed)
    weights = window_weights(*cspn_weights(gates))
    torch.testing.assert_close(propagate_once(depth, weights), _loop_step(depth, gates, depth),
                               rtol=0, atol=1e-12)


def test_the_authors_code_centre_term_uses_the_initial_depth():
    gates, depth, _ = _case(2)
    weights = window_weights(*cspn_weights(gates))
    later = depth.flip(-1)  # any other current depth
    code_form = propagate_once(later, weights, depth)
    torch.testing.assert_close(code_form, _loop_step(later, gates, depth), rtol=0, atol=1e-12)
    assert (code_form - propagate_once(later, weights)).abs().max() > 0.1


def test_weights_are_abs_normalised_and_sum_to_one_with_the_centre():
    gates, _, _ = _case(3)
    neighbours, centre = cspn_weights(gates)
    torch.testing.assert_close(neighbours.abs().sum(1), torch.ones(2, 6, 7, dtype=torch.float64))
    torch.testing.assert_close(neighbours.sum(1, keepdim=True) + centre,
                               torch.ones_like(centre))
    assert (centre > 1.0).any()  # signed gates: an affine, not always convex, combination


def test_non_negative_gates_make_each_step_a_convex_combination():
    gates, depth, _ = _case(4)
    weights = window_weights(*cspn_weights(gates.abs()))
    out = propagate_once(depth, weights)
    window = torch.nn.functional.unfold(depth, 3, padding=1).view(2, 9, 6, 7)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # no zero padding in reach
    assert (out[inner] >= window.min(1, keepdim=True).values[inner] - 1e-12).all()
    assert (out[inner] <= window.max(1, keepdim=True).values[inner] + 1e-12).all()


@pytest.mark.parametrize("channel", range(8))
def test_gate_c_carries_a_pixel_to_its_neighbour_in_direction_c(channel):
    """Only gate ``c`` non-zero, everywhere: every pixel takes its whole value from
    ``q - e_c``, so the image moves by ``e_c`` (the authors' gate1 = top-left ... gate8 =
    bottom-right reading)."""
    dy, dx = DIRECTIONS[channel]
    gates = torch.zeros(1, 8, 5, 6)
    gates[:, channel] = 1.0
    depth = torch.arange(30.0).view(1, 1, 5, 6) + 1.0
    out = propagate_once(depth, window_weights(*cspn_weights(gates)))
    rows = slice(max(dy, 0), 5 + min(dy, 0))
    cols = slice(max(dx, 0), 6 + min(dx, 0))
    src_rows = slice(max(-dy, 0), 5 + min(-dy, 0))
    src_cols = slice(max(-dx, 0), 6 + min(-dx, 0))
    torch.testing.assert_close(out[0, 0, rows, cols], depth[0, 0, src_rows, src_cols])


def test_all_zero_gates_leave_the_depth_unchanged_with_finite_gradients():
    """The authors' code divides 0 by 0 here."""
    gates = torch.zeros(1, 8, 4, 5, requires_grad=True)
    depth = torch.rand(1, 1, 4, 5) + 1.0
    neighbours, centre = cspn_weights(gates)
    out = propagate_once(depth, window_weights(neighbours, centre))
    torch.testing.assert_close(out, depth)
    out.sum().backward()
    assert gates.grad is not None and gates.grad.isfinite().all()


def test_measured_pixels_hold_the_measurement_after_propagation():
    """Paper Eq. 4 (the replacement form): the measurement, not the network's initial depth
    (the authors' code writes the latter)."""
    gates, depth, sparse = _case(5)
    result = CSPNPropagation(prop_time=24)(depth, gates, sparse)
    measured = sparse > 0
    assert torch.equal(result.depth[measured], sparse[measured].float())
    assert not torch.equal(result.depth[measured], depth[measured].float())


def test_propagation_is_the_repeated_step_with_replacement():
    gates, depth, sparse = _case(6)
    weights = window_weights(*cspn_weights(gates))
    expected = depth
    for _ in range(5):
        expected = propagate_once(expected, weights)
        expected = torch.where(sparse > 0, sparse, expected)
    got = CSPNPropagation(prop_time=5)(depth, gates, sparse).depth
    torch.testing.assert_close(got, expected.float(), rtol=1e-5, atol=1e-4)  # float32 inside


def test_support_is_one_at_measurements_and_fades_away_from_them():
    """One measured pixel in a 1x21 row, equal positive gates: support 1 there, lower with
    distance, 0 beyond the steps' reach."""
    sparse = torch.zeros(1, 1, 1, 21)
    sparse[..., 10] = 10.0
    result = CSPNPropagation(prop_time=4)(torch.full_like(sparse, 3.0), torch.ones(1, 8, 1, 21),
                                          sparse)
    support = result.support[0, 0, 0]
    assert support[10] == 1.0
    assert (support[11:15].diff() < 0).all() and (support[6:10].diff() > 0).all()
    assert support[:6].eq(0).all() and support[15:].eq(0).all()


def test_spread_is_zero_on_a_flat_depth_and_grows_with_a_step_edge():
    gates = torch.ones(1, 8, 6, 8)
    flat = torch.full((1, 1, 6, 8), 7.0)
    weights = window_weights(*cspn_weights(gates))
    assert CSPNPropagation.spread(flat, weights)[..., 1:-1, 1:-1].abs().max() < 1e-6
    edge = flat.clone()
    edge[..., 4:] = 30.0
    spread = CSPNPropagation.spread(edge, weights)[0, 0]
    assert spread[2, 3] > 5.0 and spread[2, 1] < 1e-6


def test_derived_confidence_is_support_times_the_spread_term():
    gates, depth, sparse = _case(7)
    result = CSPNPropagation(prop_time=3)(depth, gates, sparse)
    conf = derived_confidence(result, 2.0)
    torch.testing.assert_close(conf, result.support * torch.exp(-result.spread / 2.0))
    assert ((conf >= 0) & (conf <= 1)).all()


def test_gradcheck_of_a_step_in_float64():
    generator = torch.Generator().manual_seed(8)
    gates = torch.randn(1, 8, 3, 4, dtype=torch.float64, generator=generator,
                        requires_grad=True)
    depth = torch.rand(1, 1, 3, 4, dtype=torch.float64, generator=generator,
                       requires_grad=True)

    def step(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return propagate_once(x, window_weights(*cspn_weights(g)))

    assert torch.autograd.gradcheck(step, (gates, depth))


def test_negative_steps_are_refused():
    with pytest.raises(ValueError, match="prop_time must be >= 0"):
        CSPNPropagation(prop_time=-1)
