"""A target declares how a grid's d* and D set its constructor arguments (``Target.grid_params``) and its own memory
(``Target.memory_terms``): the config asks the target class instead of naming targets."""
import numpy as np
import pytest

import chargen_theory as ct
from chargen_theory.study.experiments import build


def test_gaussian_and_box_grid_points_are_their_standard_members():
    gaussian = ct.targets.get("gaussian", **build.dimension_params("gaussian", {}, None, 3))
    assert np.array_equal(gaussian.mean, np.zeros(3)) and np.array_equal(gaussian.cov, np.eye(3))
    box = ct.targets.get("box", **build.dimension_params("box", {}, None, 2))
    assert np.array_equal(box.lows[0], [-1.0, -1.0]) and np.array_equal(box.highs[0], [1.0, 1.0])
    # arrays the table gives win over the standard member
    assert build.dimension_params("gaussian", {"mean": [1.0]}, None, 1)["mean"] == [1.0]


def test_sphere_and_subspace_take_d_star_and_D():
    sphere = ct.targets.get("sphere", **build.dimension_params("sphere", {"sigma": 0.1}, 2, 5))
    assert (sphere.intrinsic_dim, sphere.dim) == (2, 5)
    sub = ct.targets.get("subspace", **build.dimension_params("subspace", {"base": "gaussian"}, 2, 6))
    assert (sub.dim, sub.intrinsic_dim, sub.base.dim) == (6, 2, 2)
    with pytest.raises(ValueError, match="^dim: the target table gives 4 but the grid sets D = 5"):
        build.dimension_params("sphere", {"dim": 4}, 1, 5)


def test_fixed_targets_are_left_alone_and_only_gaussians_count_a_covariance():
    assert build.dimension_params("8gaussians", {}, None, 2) == {}
    assert ct.sizes.memory_terms({"target": "gaussian", "D": 100})["D"][0] == 8 * 8 * 100 * 100
    assert ct.sizes.memory_terms({"target": "box", "D": 100})["D"][0] == 0
    assert ct.sizes.memory_terms({"target": "8gaussians", "D": 100})["D"][0] == 0


def test_a_grid_dimension_a_fixed_target_lacks_names_the_targets_that_declare_theirs():
    assert ct.targets.with_grid_dimensions() == ["box", "gaussian", "sphere", "spheres", "subspace"]
    config = '[[experiment]]\nkind = "w2_floor"\ntarget = "8gaussians"\nD = [3]\nn = [64, 128]\n'
    with pytest.raises(ValueError, match="grid can set: box, gaussian, sphere, spheres, subspace$"):
        ct.config.loads(config)
