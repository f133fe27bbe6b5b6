"""Ring sets per line count (input and held-out), hand-checked."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation import heldout
from depth_completion_ros.geometry.beams import heldout_mask, input_mask, sweep_lines

RINGS = np.arange(64)


@pytest.mark.parametrize("lines, inputs, hidden", [
    (32, list(range(0, 64, 2)), list(range(1, 64, 2))),
    (16, list(range(0, 64, 4)), list(range(2, 64, 4))),
    (8, list(range(0, 64, 8)), list(range(4, 64, 8))),
    (4, [0, 16, 32, 48], [8, 24, 40, 56]),
    (0, [], list(range(64))),
])
def test_ring_sets(lines: int, inputs: list[int], hidden: list[int]) -> None:
    assert RINGS[input_mask(RINGS, lines)].tolist() == inputs
    assert RINGS[heldout_mask(RINGS, lines)].tolist() == hidden


@pytest.mark.parametrize("variant, every, in_offset, gt_offset", [("32", 2, 0, 1),
                                                                    ("16", 4, 0, 2)])
def test_32_and_16_match_the_protocol_variants(variant: str, every: int, in_offset: int,
                                               gt_offset: int) -> None:
    """The protocol as issue 3 wrote it: 32 = even in / odd hidden, 16 = % 4 == 0 / == 2."""
    lines = heldout.VARIANTS[variant]
    assert (input_mask(RINGS, lines) == (RINGS % every == in_offset)).all()
    assert (heldout_mask(RINGS, lines) == (RINGS % every == gt_offset)).all()


def test_64_lines_cannot_be_held_out() -> None:
    assert input_mask(RINGS, 64).all()
    with pytest.raises(InputError, match="impossible"):
        heldout_mask(RINGS, 64)
    with pytest.raises(InputError):
        sweep_lines(64, heldout=True)


def test_sweeps() -> None:
    assert sweep_lines(None, heldout=True) == (32, 16, 8, 4, 0)
    assert sweep_lines(None, heldout=False) == (64, 32, 16, 8, 4, 0)
    assert sweep_lines(8, heldout=True) == (8,)
    with pytest.raises(InputError):
        sweep_lines(12, heldout=False)
