"""The size of one cell, checked before any work: a rough peak-memory estimate (``memory_terms``) refused beyond
``MEMORY_FRACTION`` of this machine's memory (``check_memory``), and a rough operation count refused beyond
``MAX_OPERATIONS`` (``check_work``); each message names the parameter that is too large.

Terms are ``{parameter: (size, what)}``: bytes (or operations) driven by that parameter and one line saying what
they hold. The shared terms are here; the generator's (``Generator.memory_terms``), the kind's (``Kind.memory``)
and the estimator's (``VelocityEstimator.memory_terms``) are declared by their owners and added with ``add_terms``.
"""
from __future__ import annotations

import os

from . import parameters

MEMORY_FRACTION = 0.5
"""The share of this machine's physical memory one cell may need (several run at once with --jobs)."""
MAX_OPERATIONS = 10**15
"""The most floating-point operations (a rough count) one cell may need: about a day of one core at 1e10 per
second. Larger cells would hang a sweep rather than finish."""


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 where the OS does not tell: then nothing is refused)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def memory_terms(cell: dict) -> dict[str, tuple[int, str]]:
    """A rough peak-memory estimate of one cell in bytes, by the parameter that drives each term:
    {parameter: (bytes, what)}. Counts the float64 arrays the pipeline holds: the target's own
    (``Target.memory_terms``: a D x D covariance for gaussian), the samples of each size parameter (n, m, n_eval,
    n_test, w2_n points in D dimensions, each its own term), the time grid (K + 1), the w2_n x w2_n cost matrix of
    the exact W2 and, with a generator, its own terms
    (``Generator.memory_terms``: its "K" term replaces the time grid's, the others go under "generator.<name>").
    Scheduled generator options count at their defaults. The kind's and the estimator's own terms
    (``Kind.memory``, ``VelocityEstimator.memory_terms``) are added by the config."""
    from .. import generators

    values = {**cell, **cell.get("options", {})}
    D, K, m = _size(values.get("D"), 1), _size(values.get("K")), _size(values.get("m"))
    terms = add_terms({"D": (0, "the target's own arrays")}, _target_terms(values.get("target"), D))
    for key in ("n", "m", "n_eval", "n_test"):
        terms[key] = (8 * 4 * _size(values.get(key)) * D, f"the {key} sample points in D dimensions")
    w2_n = _size(values.get("w2_n"))
    terms["w2_n"] = (8 * 4 * w2_n * D + 8 * 3 * w2_n ** 2, "the w2_n x w2_n cost matrix and plan of the W2")
    terms["K"] = (8 * 2 * (K + 1), "the time grid of K + 1 points")
    options = values.get("generator_params") if values.get("generator") else None
    if isinstance(options, dict):
        fixed = {key: value for key, value in options.items() if not parameters.is_schedule(value)}
        own = generators.get(values["generator"], **fixed).memory_terms(K=K, m=m, D=D)
        for key, term in own.items():
            terms[key if key == "K" else f"generator.{key}"] = term
    return terms


def add_terms(terms: dict, extra, prefix: str = "") -> dict:
    """``terms`` with the terms ``extra`` added under ``prefix + parameter`` (sizes of one parameter summed, the
    description of the larger part kept); returns ``terms``."""
    for key, (size, what) in extra.items():
        old_size, old_what = terms.get(prefix + key, (0, what))
        terms[prefix + key] = (old_size + size, what if size >= old_size else old_what)
    return terms


def _target_terms(name, D: int) -> dict:
    """The target class's own memory terms (``Target.memory_terms``); none for an unknown name or a plain factory."""
    from .. import targets

    cls = targets.target_class(name) if name in targets.TARGETS else None
    return cls.memory_terms(D) if cls is not None else {}


def _size(value, default: int = 0) -> int:
    """An integer size from a parameter not validated yet (anything else counts as ``default``)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def check_memory(field: str, terms: dict[str, tuple[int, str]]) -> None:
    """ValueError naming the largest term (``field.parameter``) if the sum of ``terms`` (``memory_terms``) exceeds
    MEMORY_FRACTION of this machine's memory."""
    total, machine = sum(size for size, _ in terms.values()), machine_memory()
    limit = int(MEMORY_FRACTION * machine)
    if machine and total > limit:
        key = max(terms, key=lambda k: terms[k][0])
        raise ValueError(f"{field + '.' if field else ''}{key}: one cell needs about {_gib(total)} of memory (mostly "
                         f"{terms[key][1]}), more than the limit of {_gib(limit)} ({MEMORY_FRACTION:g} of this "
                         f"machine's {_gib(machine)}); use smaller sizes")


def check_work(field: str, terms: dict[str, tuple[float, str]]) -> None:
    """ValueError naming the largest term (``field.parameter``) if the sum of ``terms`` ({parameter: (operations,
    what)}, e.g. ``VelocityEstimator.work_terms``) exceeds MAX_OPERATIONS."""
    total = sum(float(size) for size, _ in terms.values())
    if total > MAX_OPERATIONS:
        key = max(terms, key=lambda k: float(terms[k][0]))
        raise ValueError(f"{field + '.' if field else ''}{key}: one cell needs about {total:.3g} floating-point "
                         f"operations (mostly {terms[key][1]}), more than the limit of {MAX_OPERATIONS:.0e} (about a "
                         f"day of one core); use smaller sizes")


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
