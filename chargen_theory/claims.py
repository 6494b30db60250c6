"""Cited convergence-rate claims, stored as data: which results column, against which variable, which exponent.

A claim says: error ~ level^exponent * (log level)^log_power as the level (n, or h) goes to its limit, where the
exponent is a constant or ``numerator / (dim + offset)`` and dim is the ambient dimension D ("d") or the intrinsic
dimension d* ("d_star") of the target. The exponent is the claimed log-log slope: negative for n, positive for h.

``kind`` says how the source states it: "upper bound" (the error is at most of this order; measuring a faster
decay does not contradict the bound, only its sharpness) or "rate" (the error is of exactly this order).

    >>> import chargen_theory as ct
    >>> ct.claims.get("chargen_velocity_rate").exponent(d=2)
    -0.2
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from fractions import Fraction

from . import _validate

VARIABLES = ("n", "h")
DIMENSIONS = ("d", "d_star")
KINDS = ("upper bound", "rate")


@dataclass(frozen=True)
class Claim:
    """One claimed rate. ``offset`` None means a constant exponent equal to ``numerator``.

    ``dims`` = (lowest, highest) dimension (of ``uses``) for which the source makes the claim; ``exponent`` refuses
    others. All text fields are plain text for the report.
    """

    id: str
    quantity: str
    variable: str
    numerator: float
    offset: float | None
    uses: str = "d"
    conditions: str = ""
    citation: str = ""
    kind: str = "upper bound"
    log_power: float = 0.0
    dims: tuple[float, float] = (1, math.inf)
    # Judged "consistent" when the slope CI widened by this much on each side holds the claimed slope. 0 for
    # statistical rates (the seed CI carries the uncertainty); > 0 for a deterministic order such as Euler's, whose
    # CI over seeds is nearly zero-width under common random numbers while a pre-asymptotic bias remains.
    slope_tolerance: float = 0.0

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(self.id)):
            raise ValueError(f"claim id: must be letters, digits and '_' starting with a letter, got {self.id!r}")
        _validate.choice(f"claim {self.id}: variable", self.variable, VARIABLES)
        _validate.choice(f"claim {self.id}: uses", self.uses, DIMENSIONS)
        _validate.choice(f"claim {self.id}: kind", self.kind, KINDS)
        if not (isinstance(self.slope_tolerance, (int, float)) and 0 <= self.slope_tolerance < math.inf):
            raise ValueError(f"claim {self.id}: slope_tolerance must be a number >= 0, got {self.slope_tolerance!r}")
        lo, hi = self.dims
        if not (1 <= lo <= hi):
            raise ValueError(f"claim {self.id}: dims must satisfy 1 <= low <= high, got {self.dims!r}")
        if self.offset is not None and lo + self.offset <= 0:
            raise ValueError(f"claim {self.id}: dim + offset must be > 0 for every dim in {self.dims!r}")
        want = "negative (error falls as n grows)" if self.variable == "n" else "positive (error falls as h shrinks)"
        if (self.numerator < 0) != (self.variable == "n") or self.numerator == 0:
            raise ValueError(f"claim {self.id}: numerator must be {want}, got {self.numerator!r}")

    def applies(self, d: float | None = None, d_star: float | None = None) -> bool:
        """Whether the claim is made for a target of ambient dimension ``d`` and intrinsic dimension ``d_star``
        (a constant exponent made for every dimension applies when the dimension is unknown)."""
        dim = d if self.uses == "d" else d_star
        if dim is None or math.isnan(dim):
            return self.offset is None and self.dims == (1, math.inf)
        return self.dims[0] <= dim <= self.dims[1]

    def exponent(self, d: float | None = None, d_star: float | None = None) -> float:
        """The claimed log-log slope for ambient dimension ``d`` (D) and intrinsic dimension ``d_star`` (d*)."""
        if not self.applies(d, d_star):
            got = d if self.uses == "d" else d_star
            lo, hi = self.dims
            raise ValueError(f"claim {self.id}: made for {self.uses} in [{lo:g}, {hi:g}], got {got!r}")
        if self.offset is None:
            return float(self.numerator)
        dim = d if self.uses == "d" else d_star
        return self.numerator / (dim + self.offset)

    @property
    def formula(self) -> str:
        """The exponent as text, e.g. "-1/(d+3)", "-1/(d*+3)", "1", "-1/4"."""
        if self.offset is None:
            return _fraction(self.numerator)
        name = "d" if self.uses == "d" else "d*"
        shift = "" if self.offset == 0 else f"{self.offset:+g}"
        return f"{_fraction(self.numerator)}/({name}{shift})" if shift else f"{_fraction(self.numerator)}/{name}"


def _fraction(x: float) -> str:
    frac = Fraction(x).limit_denominator(100)
    return f"{x:g}" if abs(float(frac) - x) > 1e-12 else str(frac)


_PAPER = ("Z. Ding, C. Duan, Y. Jiao, R. Li, J. Z. Yang, P. Zhang, 'Characteristic Learning for Provable One Step "
          "Generation', arXiv 2405.05512")
_FG = ("N. Fournier, A. Guillin, 'On the rate of convergence in Wasserstein distance of the empirical measure', "
       "Probab. Theory Related Fields 162 (2015) 707-738 (arXiv 1312.2128), Theorem 1 with p = 2")
_RMS_NOTE = ("The results table measures W2 between two independent n-samples; by Jensen E W2^2(two samples) >= "
             "E W2^2(sample, law) and by the triangle inequality it is <= 4 times that, so the RMS over seeds has the "
             "same rate as (E W2^2(mu_n, mu))^(1/2).")
_DENSITY_LOWER = ("For any law with a density, E W2 >= c n^(-1/d) (n atoms cannot cover the mass at a finer scale), "
                  "so no faster rate is possible.")

_BUILTIN = (
    Claim(
        "euler_first_order", "euler_error", "h", 1.0, None, uses="d", kind="rate", slope_tolerance=0.05,
        conditions=("Explicit Euler with K uniform steps h = T/K and the exact (oracle) velocity, T < 1 so that the "
                    "velocity is Lipschitz on [0, T]. The global error of a first-order one-step method is O(h) with a "
                    "non-zero leading constant for a generic target, so the slope in h is exactly 1. Fitted to the "
                    "coupling error (E|x_K(z) - X_T(z)|^2)^(1/2) (same prior draws z at every h) and, for Gaussian "
                    "targets, to the exact Bures W2 of the Euler law (euler_w2). Judged like a convergence-order "
                    "test: consistent when the slope CI comes within 0.05 of 1."),
        citation=("Standard one-step ODE theory (E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential "
                  "Equations I, Springer); applied to the probability-flow ODE as the Euler discretization error "
                  "term of " + _PAPER + " (theorem number not checked here)."),
    ),
    Claim(
        "chargen_velocity_rate", "velocity_l2", "n", -1.0, 3.0, uses="d",
        conditions=("Velocity-matching error in L2 (the norm, not squared; RMS over t and X_t) of the velocity "
                    "estimated from n target samples, ambient dimension d = D, up to log factors (not encoded). "
                    "Proved for the paper's estimator under its assumptions (Gaussian-smoothed compactly supported "
                    "target, early stopping T < 1); tested here for this package's estimators."),
        citation=_PAPER + " (v1 May 2024), velocity-matching error bound (theorem number not checked here).",
    ),
    Claim(
        "fm_velocity_rate_gao2024", "velocity_l2", "n", -1.0, 5.0, uses="d",
        conditions=("The earlier flow-matching analysis: W2 of the generated law O~(n^(-1/(d+5))) up to polylog "
                    "factors for linear-interpolation CNFs trained by flow matching (bounded support, strongly "
                    "log-concave, or Gaussian-mixture targets). Compared here with the velocity L2 error, as in "
                    "docs/theory.md section 1, to see which exponent the velocity error follows."),
        citation=("Y. Gao, J. Huang, Y. Jiao, S. Zheng, 'Convergence of Continuous Normalizing Flows for Learning "
                  "Probability Distributions', arXiv 2404.00551 (2024)."),
    ),
    Claim(
        "chargen_end_to_end", "total_coupling", "n", -1.0, 3.0, uses="d", log_power=1.0,
        conditions=("End-to-end: E W2^2(g(0,T,.)#N(0,I), mu) <= kappa(T)^2 n^(-2/(d+3)) log^2 n, i.e. "
                    "W2 <~ n^(-1/(d+3)) log n (log_power 1), d = D, with m and the network size chosen as in the "
                    "paper and K large enough that the Euler term is below the statistical one. Fitted to "
                    "total_coupling (coupling bound, exact flow map) and total_w2 (EMD, above its floor)."),
        citation=_PAPER + ", main end-to-end W2 bound (theorem number not checked here).",
    ),
    Claim(
        "consistency_distillation_w1", "total_w2", "n", -0.5, 5.0, uses="d", log_power=1.0,
        conditions=("Consistency distillation only (the consistency generator's rows; other generators are not "
                    "covered): W1(generated law, target) = O~(n^(-1/(2(d+5)))) for consistency models distilled "
                    "from a diffusion-model teacher whose score is estimated from n samples, under the source's "
                    "assumptions (sub-Gaussian tails, Lipschitz consistency functions, fine enough discretisation, "
                    "network class as in the source). Polylog factors are not resolved (log_power 1 is a "
                    "placeholder). Measured here on W2 >= W1 with a flow-matching (kde) teacher instead of a score "
                    "network: a faster measured slope does not contradict it, a slower one is only indicative."),
        citation=("Z. Dou, M. Chen, M. Wang, Z. Yang, 'Provable Statistical Rates for Consistency Diffusion "
                  "Models', arXiv 2406.16213 (2024), distillation rate (theorem number not checked here)."),
    ),
    Claim(
        "chargen_manifold_rate", "velocity_l2", "n", -1.0, 3.0, uses="d_star",
        conditions=("Under the manifold assumption of v5 the exponent depends on the intrinsic dimension d* "
                    "instead of D: velocity L2 error ~ n^(-1/(d*+3)) up to log factors (not encoded)."),
        citation=_PAPER + " v5 (Oct 2025), manifold-assumption rate (theorem number not checked here).",
    ),
    Claim(
        "empirical_w2_1d", "w2", "n", -0.5, None, uses="d_star", kind="rate", dims=(1, 1),
        conditions=("d* = 1, law with finite Bobkov-Ledoux functional J_2 = int F(1-F)/f^2 (e.g. a density bounded "
                    "below on an interval): E W2^2 <= C/n, so W2 ~ n^(-1/2). For the standard Gaussian J_2 is "
                    "infinite and an extra log log n factor appears in E W2^2 (not encoded). Fournier-Guillin alone "
                    "give only n^(-1/4) in d = 1. " + _RMS_NOTE),
        citation=("S. Bobkov, M. Ledoux, 'One-dimensional empirical measures, order statistics, and Kantorovich "
                  "transport distances', Mem. Amer. Math. Soc. 261 (1259), 2019; cf. " + _FG + "."),
    ),
    Claim(
        "empirical_w2_2d", "w2", "n", -0.25, None, uses="d_star", dims=(2, 2),
        conditions=("Upper bound for ANY law on R^2 with a finite moment of order q > 4: E W2^2 <~ n^(-1/2) "
                    "(p = 2 > d/2), so W2 <~ n^(-1/4); this is docs/theory.md section 3's statement for d < 4. "
                    "It is not sharp for laws with a density (see empirical_w2_2d_density), so 'faster' is expected "
                    "there. "
                    + _RMS_NOTE),
        citation=_FG + ".",
    ),
    Claim(
        "empirical_w2_2d_density", "w2", "n", -0.5, None, uses="d_star", kind="rate", log_power=0.5, dims=(2, 2),
        conditions=("Sharp rate for laws with a density in d* = 2: uniform on the square E W2^2 ~ log n / n, so "
                    "W2 ~ n^(-1/2) (log n)^(1/2) (log_power 0.5); for the standard Gaussian log n / n <~ E W2^2 "
                    "<~ (log n)^2 / n. The log factor makes a finite-range slope shallower than -1/2 by about "
                    "1/(2 ln n). " + _RMS_NOTE),
        citation=("L. Ambrosio, F. Stra, D. Trevisan, 'A PDE approach to a 2-dimensional matching problem', Probab. "
                  "Theory Related Fields (arXiv 1611.04960); M. Ajtai, J. Komlos, G. Tusnady, 'On optimal "
                  "matchings', Combinatorica 4 (1984) 259-264 (W1); M. Ledoux, 'On optimal matching of Gaussian "
                  "samples', Zap. Nauchn. Sem. POMI 457 (2017) 226-264."),
    ),
    Claim(
        "empirical_w2_3d", "w2", "n", -0.25, None, uses="d_star", dims=(3, 3),
        conditions=("Upper bound for ANY law on R^3 with a finite moment of order q > 4: E W2^2 <~ n^(-1/2) "
                    "(p = 2 > d/2), so W2 <~ n^(-1/4) (docs/theory.md section 3, d < 4). Not sharp for laws with a "
                    "density (see empirical_w2_3d_density). " + _RMS_NOTE),
        citation=_FG + ".",
    ),
    Claim(
        "empirical_w2_3d_density", "w2", "n", -1.0, 0.0, uses="d_star", kind="rate", dims=(3, 3),
        conditions=("Sharp rate for laws with a density in d* = 3: for the standard Gaussian in d >= 3, "
                    "E W_p^p ~ n^(-p/d) for 1 <= p < d, the same as for the uniform law on the cube; with p = 2: "
                    "W2 ~ n^(-1/3). " + _DENSITY_LOWER + " " + _RMS_NOTE),
        citation=("M. Ledoux, J.-X. Zhu, 'On optimal matching of Gaussian samples III', Probab. Math. Statist. "
                  "41(2)."),
    ),
    Claim(
        "empirical_w2_4d", "w2", "n", -0.25, None, uses="d_star", log_power=0.5, dims=(4, 4),
        conditions=("Upper bound for ANY law on R^4 with a finite moment of order q > 4: p = 2 = d/2 gives "
                    "E W2^2 <~ n^(-1/2) log n, so W2 <~ n^(-1/4) (log n)^(1/2) (log_power 0.5). For the standard "
                    "Gaussian (p = 2 < d = 4) the rate is n^(-1/4) without the log (Ledoux & Zhu). " + _RMS_NOTE),
        citation=_FG + ".",
    ),
    Claim(
        "empirical_w2_highd", "w2", "n", -1.0, 0.0, uses="d_star", kind="rate", dims=(5, math.inf),
        conditions=("d* > 4, finite moment of order q > 2d/(d-2): E W2^2 <~ n^(-2/d), so W2 <~ n^(-1/d); for laws "
                    "with a density this is also the order from below, hence a rate. " + _DENSITY_LOWER + " "
                    + _RMS_NOTE),
        citation=_FG + "; lower bound and the Gaussian case: M. Ledoux, J.-X. Zhu, 'On optimal matching of Gaussian "
                       "samples III', Probab. Math. Statist. 41(2).",
    ),
)

_REGISTRY: dict[str, Claim] = {c.id: c for c in _BUILTIN}


def names() -> list[str]:
    """Registered claim ids."""
    return sorted(_REGISTRY)


def get(claim_id: str) -> Claim:
    """The registered claim ``claim_id``; ValueError listing the registered ids if unknown."""
    return _REGISTRY[_validate.choice("claim", claim_id, _REGISTRY)]


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (ValueError if its id is taken by a different claim) and return it."""
    if not isinstance(claim, Claim):
        raise ValueError(f"claim: must be a chargen_theory.claims.Claim, got {type(claim).__name__}")
    if claim.id in _REGISTRY and _REGISTRY[claim.id] != claim:
        raise ValueError(f"claim {claim.id}: id already registered; registered ids: {', '.join(names())}")
    _REGISTRY[claim.id] = claim
    return claim


_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_CONSTANT = re.compile(rf"\s*({_NUMBER})\s*(?:/\s*({_NUMBER})\s*)?")
_RATIONAL = re.compile(rf"\s*({_NUMBER})\s*/\s*\(\s*d\s*(?:([+-])\s*({_NUMBER}))?\s*\)\s*")
_FIELDS = {f.name for f in fields(Claim)} - {"numerator", "offset"} | {"exponent"}
_REQUIRED = ("id", "quantity", "variable", "exponent")


def from_dict(spec: dict) -> Claim:
    """A Claim from a config mapping (not registered).

    Keys: id, quantity, variable ("n" | "h"), exponent, and optionally uses ("d" | "d_star"), conditions,
    citation, kind ("upper bound" | "rate"), log_power, dims ([low, high]), slope_tolerance. ``exponent`` is a number, a constant
    written "a" or "a/b", or "a/(d + c)" where d stands for the dimension named by ``uses`` (parsed, never
    evaluated).

        >>> from_dict({"id": "my_rate", "quantity": "velocity_l2", "variable": "n", "exponent": "-2/(d+4)"})
    """
    if not isinstance(spec, dict):
        raise ValueError(f"claim: must be a mapping with keys {', '.join(sorted(_FIELDS))}")
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise ValueError(f"claim: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    missing = [k for k in _REQUIRED if k not in spec]
    if missing:
        raise ValueError(f"claim: missing key(s) {', '.join(missing)}; required: {', '.join(_REQUIRED)}")
    numerator, offset = _parse_exponent(spec["id"], spec["exponent"])
    kw = {k: v for k, v in spec.items() if k != "exponent"}
    if "dims" in kw:
        dims = kw["dims"]
        if not (isinstance(dims, (list, tuple)) and len(dims) == 2):
            raise ValueError(f"claim {spec['id']}: dims must be [low, high], got {dims!r}")
        kw["dims"] = (float(dims[0]), float(dims[1]))
    for key in ("log_power", "slope_tolerance"):
        if key in kw:
            try:
                kw[key] = float(kw[key])
            except (TypeError, ValueError):
                raise ValueError(f"claim {spec['id']}: {key} must be a number, got {kw[key]!r}") from None
    return Claim(numerator=numerator, offset=offset, **kw)


def _parse_exponent(claim_id, exponent) -> tuple[float, float | None]:
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        return float(exponent), None
    text = str(exponent)
    match = _CONSTANT.fullmatch(text)
    if match:
        num, den = match.groups()
        if den is not None and float(den) == 0:
            raise ValueError(f"claim {claim_id}: exponent {text!r} divides by zero")
        return (float(num) / float(den) if den else float(num)), None
    match = _RATIONAL.fullmatch(text)
    if match:
        num, sign, off = match.groups()
        offset = 0.0 if off is None else (float(off) if sign == "+" else -float(off))
        return float(num), offset
    raise ValueError(f"claim {claim_id}: exponent must be a number, 'a/b' or 'a/(d + c)', got {text!r}")
