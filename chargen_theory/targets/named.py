"""The named 2-D benchmark sets, each an exact-velocity target: 8gaussians, grid, checkerboard, rings.

Defaults put every set inside [-2.5, 2.5]^2, the scale of the N(0, I) prior:
- ``8gaussians``: 8 Gaussians of standard deviation ``std`` = 0.2 centred on the circle of ``radius`` = 2
  (neighbouring modes 1.53 apart, 7.7 std);
- ``grid``: ``size`` x ``size`` = 5 x 5 Gaussians (std 0.1) on a square lattice of ``spacing`` 1 centred at 0;
- ``checkerboard``: the ``size`` x ``size`` = 4 x 4 board of ``cell`` = 1 squares centred at 0, uniform on the
  8 squares with even i + j, optionally smoothed by N(0, sigma^2 I);
- ``rings``: uniform on concentric circles of ``radii`` 0.5, 1, 1.5, 2 (equal weights), optionally smoothed.
"""
from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Target
from .box import BoxMixture
from .mixture import GaussianMixture
from .sphere import ConcentricSpheres


def _named(target: Target, name: str, params: dict) -> Target:
    target.name, target.params = name, params
    return target


def eight_gaussians(radius=2.0, std=0.2) -> GaussianMixture:
    """8 equally weighted N(c_k, std^2 I), c_k = radius (cos(k pi/4), sin(k pi/4)), k = 0..7."""
    radius, std = _validate.positive_float("radius", radius), _validate.positive_float("std", std)
    angles = 0.25 * np.pi * np.arange(8)
    means = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    covs = np.repeat((std * std * np.eye(2))[None], 8, axis=0)
    return _named(GaussianMixture(means, covs), "8gaussians", {"radius": radius, "std": std})


def grid(size=5, spacing=1.0, std=0.1) -> GaussianMixture:
    """size^2 equally weighted N(c, std^2 I) with centres c on the lattice spacing * ({0..size-1} - (size-1)/2)^2."""
    size = _validate.positive_int("size", size)
    spacing, std = _validate.positive_float("spacing", spacing), _validate.positive_float("std", std)
    ticks = spacing * (np.arange(size) - 0.5 * (size - 1))
    means = np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)
    covs = np.repeat((std * std * np.eye(2))[None], size * size, axis=0)
    return _named(GaussianMixture(means, covs), "grid", {"size": size, "spacing": spacing, "std": std})


def checkerboard(size=4, cell=1.0, sigma=0.0) -> BoxMixture:
    """Uniform on the squares (i, j), i + j even, of a size x size board of side ``cell`` centred at 0 (size >= 2),
    convolved with N(0, sigma^2 I) when sigma > 0."""
    size = _validate.positive_int("size", size)
    if size < 2:
        raise ValueError(f"size: must be an integer >= 2, got {size}")
    cell = _validate.positive_float("cell", cell)
    i, j = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    black = (i + j) % 2 == 0
    lows = cell * (np.column_stack([i[black], j[black]]) - 0.5 * size)
    target = BoxMixture(lows, lows + cell, sigma=sigma)
    return _named(target, "checkerboard", {"size": size, "cell": cell, "sigma": target.sigma})


def rings(radii=(0.5, 1.0, 1.5, 2.0), weights=None, sigma=0.0) -> ConcentricSpheres:
    """Uniform on concentric circles of the given radii (weights: None for equal), convolved with N(0, sigma^2 I)
    when sigma > 0."""
    target = ConcentricSpheres(radii, intrinsic_dim=1, dim=2, weights=weights, sigma=sigma)
    return _named(target, "rings", {"radii": target.radii.tolist(), "weights": target.weights.tolist(),
                                    "sigma": target.sigma})
