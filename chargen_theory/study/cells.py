"""The cell's identity and randomness: ``canonical_json``, ``digest``, ``cell_id``, the seed derivation
``seed_entropy`` and ``random_stream``, which rebuilds the random stream of any (cell, seed) of a sweep.

A cell is a dict of parameter values (the schema: chargen_theory.study.parameters). Seeds: the stream of a
(cell, seed) is a numpy SeedSequence built from the root seed, 128 bits of a SHA-256 of the cell's canonical JSON
*without* the kind's level parameters (so every level of a rate fit sees the same stream: common random numbers,
e.g. nested samples across n, the same prior draws for every K) and without the generator (``parameters.UNSEEDED``:
every generator of a comparison sees the same velocity fit, teacher data and test draws), and the replicate index.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from .. import _validate
from .parameters import COMPANIONS, UNSEEDED


def canonical_json(value) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats by repr, NaN rejected (hashing, duplicate checks)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def digest(value) -> bytes:
    """SHA-256 of ``canonical_json(value)`` (never Python's hash(): stable across processes)."""
    return hashlib.sha256(canonical_json(value).encode()).digest()


def cell_id(experiment: str, cell: dict) -> str:
    """Content hash of a cell's parameters (16 hex digits)."""
    return digest({"experiment": experiment, **cell}).hex()[:16]


def seed_entropy(experiment: str, cell: dict, seed: int, root_seed: int, level: tuple[str, ...]) -> tuple[int, ...]:
    """Entropy words of the (cell, seed) random stream: the root seed, 128 bits of a SHA-256 of the cell's
    parameters without the ``level`` parameters (the kind's ``Kind.level``, e.g. ("n",)), their companions and
    ``UNSEEDED``, and the replicate index ``seed``."""
    skipped = set(level) | set(UNSEEDED) | {c for variable, companions in COMPANIONS.items() if variable in level
                                            for c in companions}
    skipped |= {variable for variable, companions in COMPANIONS.items() if set(companions) & set(level)}
    relevant = {key: value for key, value in cell.items() if key not in skipped}
    if isinstance(relevant.get("options"), dict):  # a kind's own level parameters live in options
        relevant["options"] = {key: value for key, value in relevant["options"].items() if key not in skipped}
    words = digest({"experiment": experiment, **relevant})
    root_seed, seed = _validate.nonnegative_int("root_seed", root_seed), _validate.nonnegative_int("seed", seed)
    return (root_seed, *(int.from_bytes(words[i:i + 4], "little") for i in range(0, 16, 4)), seed)


def random_stream(entropy) -> np.random.Generator:
    """The numpy Generator of a unit from its entropy words (``seed_entropy``): what the sweep hands to the kind."""
    if not isinstance(entropy, (tuple, list)) or not entropy:
        raise ValueError(f"entropy: must be a non-empty sequence of integers >= 0, got {entropy!r}")
    return np.random.default_rng(np.random.SeedSequence([_validate.nonnegative_int(f"entropy[{i}]", word)
                                                         for i, word in enumerate(entropy)]))
