"""Deformable sampling: neighbour order, pixel-centre coordinates, bilinear values, zeros outside
(DCNv2's sampling)."""
from __future__ import annotations

import pytest
import torch

from depth_completion_ros.networks.propagation.deformable import (
    kernel_offsets,
    neighbour_positions,
    sample_neighbours,
    sampling_grid,
)


def test_kernel_offsets_are_row_major_without_the_centre():
    assert kernel_offsets(3).tolist() == [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1],
                                          [1, -1], [1, 0], [1, 1]]
    five = kernel_offsets(5)
    assert five.shape == (24, 2) and [0.0, 0.0] not in five.tolist()
    assert five[0].tolist() == [-2, -2] and five[11].tolist() == [0, -1]
    with pytest.raises(ValueError, match="odd and >= 3"):
        kernel_offsets(4)


def _sample(image: torch.Tensor, y: float, x: float) -> float:
    pos = torch.tensor([y, x], dtype=image.dtype).view(1, 1, 2, 1, 1)
    height, width = image.shape[-2:]
    grid = sampling_grid(pos.expand(1, 1, 2, height, width), height, width)
    return float(sample_neighbours(image, grid)[0, 0, 0, 0, 0])


IMAGE = torch.tensor([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]], dtype=torch.float64).view(1, 1, 2, 3)


@pytest.mark.parametrize("y, x, expected", [
    (0, 0, 1.0), (1, 2, 32.0), (0, 1, 2.0),                 # pixel centres: exact values
    (0.5, 0.5, (1 + 2 + 8 + 16) / 4),                       # bilinear
    (0.25, 1.0, 0.75 * 2 + 0.25 * 16),
    (-0.5, 0.0, 0.5 * 1.0),                                 # half outside: the outside is 0
    (1.0, 2.75, 0.25 * 32.0),
    (-1.0, 0.0, 0.0), (2.0, 0.0, 0.0), (0.0, 3.0, 0.0),     # a full pixel outside: 0
    (-3.0, -7.0, 0.0),
])
def test_bilinear_values_with_zeros_outside(y, x, expected):
    assert _sample(IMAGE, y, x) == pytest.approx(expected, abs=1e-12)


def test_positions_add_the_window_and_the_pixel():
    offsets = torch.zeros(1, 8, 2, 3, 4)
    offsets[0, 0, :, 1, 2] = torch.tensor([0.25, -0.5])
    pos = neighbour_positions(offsets, kernel_offsets(3))
    assert pos[0, 0, :, 1, 2].tolist() == [1 - 1 + 0.25, 2 - 1 - 0.5]
    assert pos[0, 7, :, 2, 3].tolist() == [3.0, 4.0]  # (1, 1) of pixel (2, 3)


def test_zero_offsets_sample_the_window_shifted_image():
    image = torch.arange(20.0).view(1, 1, 4, 5)
    window = kernel_offsets(3)
    grid = sampling_grid(neighbour_positions(torch.zeros(1, 8, 2, 4, 5), window), 4, 5)
    samples = sample_neighbours(image, grid)
    assert samples.shape == (1, 1, 8, 4, 5)
    padded = torch.nn.functional.pad(image, (1, 1, 1, 1))
    for k, (dy, dx) in enumerate(window.long().tolist()):
        torch.testing.assert_close(samples[0, 0, k], padded[0, 0, 1 + dy:5 + dy, 1 + dx:6 + dx])
