"""The error ledger: one run of the whole pipeline, split into the terms of the paper's bound (docs/theory.md 1.6).

``ledger(...)`` fits a velocity estimator on n target samples, runs K Euler steps of the exact and of the estimated
velocity, fits a generator (``chargen_theory.generators``; default the paper's characteristic generator) to the
estimated velocity with m Euler-hat characteristics, and measures every term on the SAME test prior draws z_test, so
that the coupling columns are L2(z_test) norms of differences of maps and obey Minkowski's inequality row by row:
total_coupling <= fit_error + euler_hat_error <= fit_error + velocity_term + euler_error, where velocity_term is the
velocity error carried through the K Euler steps. ``breakdown(table)`` lists these terms per group and n, with the
early-stopping term W2(law of X_T, target), and names the largest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .generators import Generator
from .paths import Interpolant, get as get_path


class _MarginalAt:
    """The law of X_T = alpha(T) X0 + beta(T) X1, X0 ~ N(0, I), X1 ~ target: what the flow carries N(0, I) to."""

    def __init__(self, target, path: Interpolant, T: float):
        self.target, self.path, self.T = target, path, T

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n draws, (n, D) float64."""
        y = self.target.sample(n, rng)
        return self.path.sample(self.T, rng.standard_normal(y.shape), y)


def _estimator(estimator, options, target, path, n, rng):
    """(fitted estimator, its name). A name is built by ``velocity.for_target`` (the oracle gets the target,
    ``dim = "intrinsic"`` the target's d*) and fitted here on n target samples; an object is used as given."""
    from . import velocity

    if isinstance(estimator, str):
        est = velocity.for_target(estimator, target, **(options or {}))
        return est.fit(target.sample(n, rng), path, rng), estimator
    if options:
        raise ValueError("estimator_options: only allowed when estimator is a registry name (str)")
    if not callable(estimator):
        raise ValueError("estimator: must be a velocity registry name or a fitted estimator est(t, x)")
    return estimator, getattr(estimator, "name", type(estimator).__name__)


def exact_flow(target, path, z, times, rtol: float = 1e-10, atol: float = 1e-12) -> tuple[np.ndarray, str]:
    """The exact characteristics X_t(z) of prior draws z (n, D) and how they were computed: "closed_form"
    (target.flow_map) or "reference" (solvers.reference: one DOP853 solve with the exact velocity, tolerances
    ``rtol`` and ``atol``). ``times``: one time T -> X_T(z) (n, D); increasing times -> (len(times), n, D), one
    solve through all of them. NotImplementedError where a time has alpha = 0 on a path whose velocity is
    singular there (follmer at t = 1) and the target has no closed form: that velocity needs the target's score."""
    from . import solvers

    path = get_path(path)
    try:
        if np.ndim(times) == 0:
            return np.asarray(target.flow_map(z, times, path), dtype=np.float64), "closed_form"
        return np.stack([np.asarray(target.flow_map(z, t, path), dtype=np.float64) for t in times]), "closed_form"
    except NotImplementedError:
        pass
    if path.singular_at_one and np.any(path.alpha(np.asarray(times, dtype=np.float64)) == 0):
        raise NotImplementedError(f"the {path.name} velocity at t = 1 needs the target's score")
    velocity = lambda t, x: target.velocity(t, x, path)  # noqa: E731
    if np.ndim(times) == 0:
        return solvers.reference(velocity, z, T=times, rtol=rtol, atol=atol), "reference"
    return solvers.reference(velocity, z, T=times[-1], t_eval=times, rtol=rtol, atol=atol), "reference"


@dataclass(frozen=True)
class LedgerRun:
    """A ledger with the pieces behind it (for checks and figures): ``record`` (see ``ledger``), ``generator``
    (the fitted ``chargen_theory.generators.Generator``), ``estimator`` (the fitted velocity), ``z_test``
    (n_test, D) and ``flow`` =
    X_T(z_test) (n_test, D)."""

    record: dict
    generator: Generator
    estimator: object
    z_test: np.ndarray
    flow: np.ndarray


def ledger(*args, **kwargs) -> dict:
    """One row of the results table: every error term of a generator on one configuration;
    ``ledger_run(*args, **kwargs).record`` (arguments and columns: see ``ledger_run``)."""
    return ledger_run(*args, **kwargs).record


def ledger_run(target, path, estimator, n: int, m: int, K: int, T: float = 1.0, *, rng: np.random.Generator,
               generator: str = "characteristic", generator_options: dict | None = None,
               estimator_options: dict | None = None, n_test: int = 2000,
               w2_n: int = 1000, n_eval: int = 2000, floor_repeats: int = 3) -> LedgerRun:
    """Fit and measure the whole pipeline on one configuration; returns a LedgerRun whose ``record`` is one row.

    Parameters
    ----------
    target : a Target (exact velocity; exact flow map where ``flow_map`` has a closed form).
    path : path name or Interpolant.
    estimator : a velocity registry name (fitted here on n samples of the target drawn from ``rng``, with
        ``estimator_options``; "oracle" gets ``target=target``, a tuning rule's ``dim = "intrinsic"`` the target's
        d*: ``velocity.for_target``), or an already fitted estimator ``est(t, x)``
        (then ``n`` is recorded as given: pass the sample size it was fitted on).
    n : number of target samples for the velocity estimator.
    m : number of prior draws whose Euler-hat characteristics train the generator.
    K : Euler steps on [0, T] (h = T / K), for both the data and the Euler columns.
    T : final time in (0, 1]. All columns compare with the law of X_T (= the target only at T = 1).
    rng : numpy Generator; split with ``rng.spawn`` into one stream per stage, so the record is deterministic.
    generator : a generator registry name (``chargen_theory.generators.names()``).
    generator_options : its hyperparameters (for "characteristic": CharacteristicGenerator's width, depth, epochs,
        max_steps, ...).
    n_test : number of common test prior draws z_test for the coupling columns.
    w2_n : sample size of each side of the empirical W2 and its floor.
    n_eval : evaluation points of ``metrics.velocity_l2``.
    floor_repeats : independent sample pairs averaged in ``total_w2_floor``.

    Returns
    -------
    dict with (all distances are W2-type root mean squares, never squared, in the data's units):

    - velocity_l2, velocity_l2_rel: L2 error of the estimated velocity over t in [0, T] (metrics.velocity_l2);
    - euler_error: RMS |Euler_K(exact v)(z) - X_T(z)| over z_test, the discretisation term alone;
    - euler_hat_error: RMS |Euler_K(estimated v)(z) - X_T(z)|;
    - velocity_term: RMS |Euler_K(estimated v)(z) - Euler_K(exact v)(z)|, the velocity error carried to X_T by the
      same K steps (0 for the oracle), so that euler_hat_error <= velocity_term + euler_error;
    - fit_error: RMS |g(0, T, z) - Euler_K(estimated v)(z)|, the characteristic-fitting term (0 for "euler");
    - total_coupling: RMS |g(0, T, z) - X_T(z)|, an upper bound on W2(g(0, T, .)#N(0, I), law of X_T);
      X_T(z) is target.flow_map where closed form, else a reference ODE solve (``flow_map_method``);
    - total_w2, total_w2_floor, total_w2_method = "emd": exact empirical W2 between w2_n one-step samples and w2_n
      fresh draws of X_T = alpha(T) X0 + beta(T) X1, and the same estimator between two independent w2_n-samples
      of that law (mean over ``floor_repeats`` pairs);
    - semigroup_violation (from the generator's ``diagnostics``: the characteristic generator's, else NaN),
      nfe_per_sample (network or velocity evaluations per one-step sample: 1, K for "euler"), euler_nfe_per_sample
      (K), nfe_fit (teacher velocity point evaluations), train_steps (optimizer steps), train_seconds, rule_dim (the
      dimension the estimator's tuning rule used, NaN without one), and the configuration: target, path,
      estimator, generator, dim, intrinsic_dim, n, m, K, T, n_test, w2_n, endpoint_only (the generator maps
      s = 0 to t = T only).

    """
    from . import generators, metrics, solvers

    if generator_options is not None and not isinstance(generator_options, dict):
        raise ValueError(f"generator_options: must be a dict of {generator!r} options, got "
                         f"{type(generator_options).__name__}")
    try:  # built before any work, so that a bad option fails first
        model = generators.get(generator, **(generator_options or {}))
    except (ValueError, TypeError) as err:
        raise ValueError(f"generator_options.{' '.join(str(err).split())}") from None
    if isinstance(target, str):
        from . import targets

        target = targets.get(target)
    path = get_path(path)
    n = _validate.positive_int("n", n)
    m = _validate.positive_int("m", m)
    K = _validate.positive_int("K", K)
    T = _validate.end_time("T", T)
    n_test = _validate.positive_int("n_test", n_test)
    w2_n = _validate.positive_int("w2_n", w2_n)
    n_eval = _validate.positive_int("n_eval", n_eval)
    floor_repeats = _validate.positive_int("floor_repeats", floor_repeats)
    _validate.generator("rng", rng)
    est_rng, l2_rng, test_rng, gen_rng, w2_rng, sg_rng = rng.spawn(6)

    est, est_name = _estimator(estimator, estimator_options, target, path, n, est_rng)
    l2 = metrics.velocity_l2(est, target, path, T, n_eval, l2_rng)

    z_test = test_rng.standard_normal((n_test, target.dim))
    flow, flow_method = exact_flow(target, path, z_test, T)
    euler_exact = solvers.euler(lambda t, x: target.velocity(t, x, path), z_test, K=K, T=T)
    euler_hat = solvers.euler(est, z_test, K=K, T=T)

    gen = model.fit(est, path, K, T, m, gen_rng, dim=target.dim)
    one_step = gen.map(z_test)

    law_T = _MarginalAt(target, path, T)
    total_w2 = metrics.w2(gen.sample(w2_n, w2_rng), law_T.sample(w2_n, w2_rng))
    floor = metrics.estimation_floor(law_T, w2_n, w2_rng, method="emd", repeats=floor_repeats)
    diagnostics = gen.diagnostics(z_test, sg_rng)

    record = {
        "target": target.name, "path": path.name, "estimator": est_name, "generator": gen.name,
        "dim": target.dim, "intrinsic_dim": target.intrinsic_dim,
        "n": n, "m": m, "K": K, "T": T, "n_test": n_test, "w2_n": w2_n, "endpoint_only": gen.TIMES == "endpoint",
        "velocity_l2": l2.value, "velocity_l2_rel": l2.relative,
        "euler_error": metrics.coupling_error(euler_exact, flow),
        "euler_hat_error": metrics.coupling_error(euler_hat, flow),
        "velocity_term": metrics.coupling_error(euler_hat, euler_exact),
        "fit_error": metrics.coupling_error(one_step, euler_hat),
        "total_coupling": metrics.coupling_error(one_step, flow),
        "flow_map_method": flow_method,
        "total_w2": total_w2, "total_w2_floor": floor, "total_w2_method": "emd",
        "semigroup_violation": diagnostics.get("semigroup_violation", float("nan")),
        "nfe_per_sample": gen.nfe_per_sample_, "euler_nfe_per_sample": K, "nfe_fit": gen.nfe_fit_,
        "train_steps": gen.train_steps_, "train_seconds": gen.train_seconds_,
        "rule_dim": float(getattr(est, "rule_dim_", float("nan"))),
    }
    return LedgerRun(record, gen, est, z_test, flow)



TERMS = ("velocity_term", "euler_error", "fit_error", "early_stopping_upper")
"""The terms of W2(one-step law, target) <= velocity_term + euler_error + fit_error + early_stopping_upper (each a
coupling bound in the data's units; chargen_vs_n rows carry all four)."""


def breakdown(table, by=("experiment", "target", "target_params", "estimator", "estimator_params", "generator",
                         "generator_params", "T", "K", "m")):
    """The ledger's terms per group and n, to check that n alone moves the error.

    table: a results table (pandas DataFrame) of chargen_vs_n-style rows with status "ok"; by: the group columns
    (those absent from the table are skipped). Returns one row per (group, n): each term of ``TERMS`` present in the
    table as its RMS over seeds (the form of the rate fits), ``seeds``, ``dominant`` (the largest term's name) and
    ``velocity_share`` = velocity_term / (sum of the terms); sorted by group and n.
    """
    import pandas as pd

    rows = table[table["status"] == "ok"] if "status" in table.columns else table
    terms = [t for t in TERMS if t in rows.columns]
    if "n" not in rows.columns or not terms:
        raise ValueError(f"table: needs the columns n and at least one of {', '.join(TERMS)}")
    keys = [c for c in by if c in rows.columns] + ["n"]
    out = []
    for key, group in rows.groupby(keys, dropna=False, sort=True):
        values = {t: float(np.sqrt(np.nanmean(group[t].astype(float) ** 2))) for t in terms}
        present = {t: v for t, v in values.items() if np.isfinite(v)}
        total = sum(present.values())
        share = present.get("velocity_term", float("nan")) / total if total > 0 else float("nan")
        out.append({**dict(zip(keys, key)), **values, "seeds": len(group),
                    "dominant": max(present, key=present.get) if present else "", "velocity_share": share})
    return pd.DataFrame(out)
