"""A cell's identity and size: the seed takes the kind's level explicitly, and the memory terms of a cell with a
generator come from the generator (``Generator.memory_terms``) with the numbers written out here by hand."""
import pytest

import chargen_theory as ct


def test_seed_entropy_needs_the_level():
    with pytest.raises(TypeError):
        ct.cells.seed_entropy("w2_floor", {"n": 10}, 0, 1)  # noqa: the level is no longer looked up
    cell = {"n": 10, "T": 0.5}
    assert ct.cells.seed_entropy("w2_floor", cell, 0, 1, ("n",)) == ct.cells.seed_entropy(
        "w2_floor", {**cell, "n": 20}, 0, 1, ("n",))
    assert ct.cells.seed_entropy("w2_floor", cell, 0, 1, ()) != ct.cells.seed_entropy(
        "w2_floor", {**cell, "n": 20}, 0, 1, ())


def _terms(generator: str, params: dict, K: int, m: int, D: int = 2) -> dict:
    cell = {"K": K, "m": m, "D": D, "generator": generator, "generator_params": params}
    return {key: size for key, (size, _) in ct.sizes.memory_terms(cell).items()}


# per pair of times: 16 (3 width depth + 4 (D + 2)) bytes; held-out pairs m K / 10 against one batch
@pytest.mark.parametrize("generator, params, K, m, expected", [
    # width 128, depth 3, batch 256 (the defaults): 16 * (1152 + 16) = 18688 bytes a pair; 2000 held-out pairs
    ("characteristic", {}, 20, 1000, {"K": 24 * 21 * 1001 * 2 + 18688 * 2000, "generator.batch_size": 0,
                                      "generator.width": 16 * 128 * 128 * 3}),
    # the euler generator trains no network: its Euler characteristics alone
    ("euler", {}, 20, 100, {"K": 24 * 21 * 101 * 2}),
    # width 8, depth 2, batch 64: 16 * (48 + 16) = 1024 bytes a pair; 200 held-out pairs > one batch
    ("flow_map", {"width": 8, "depth": 2, "batch_size": 64}, 20, 100,
     {"K": 24 * 21 * 101 * 2 + 1024 * 200, "generator.batch_size": 0, "generator.width": 16 * 8 * 8 * 2}),
    # a scheduled width counts at the generator's default
    ("endpoint", {"width": {"schedule": "n"}}, 20, 1000, {"K": 24 * 21 * 1001 * 2 + 18688 * 2000,
                                                          "generator.batch_size": 0,
                                                          "generator.width": 16 * 128 * 128 * 3}),
])
def test_generator_memory_terms(generator, params, K, m, expected):
    terms = _terms(generator, params, K, m)
    assert {key: terms[key] for key in expected} == expected
    shared = ["D", "n", "m", "n_eval", "n_test", "w2_n", "K"]
    assert list(terms) == shared + sorted(set(expected) - set(shared))


def test_without_a_generator_K_is_the_time_grid():
    assert ct.sizes.memory_terms({"K": 20, "m": 100, "D": 2})["K"][0] == 16 * 21
