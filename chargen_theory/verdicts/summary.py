"""The per-claim summary that opens report.md: one status per claim over its rates rows, and the row that decides it.

Status rule (the contract of the report): "refuted" if any in-scope row is a contradiction (rates.CONTRADICTIONS);
else "supported" if any row is supporting (rates.SUPPORTING; "k of m groups" in scope); else "pre-asymptotic" if any
row is pre-asymptotic; else "undecidable" if any in-scope row exists (underpowered, inconclusive); else "not judged
here" (every row out of scope, or no row at all: a claim selected for a fit but made for none of its groups).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from . import rates as _rates

STATUSES = ("refuted", "supported", "pre-asymptotic", "undecidable", "not judged here")
SUPPORTING = getattr(_rates, "SUPPORTING", ("consistent", "faster than bound"))
OUT_OF_SCOPE = "out of scope"


def status(verdicts) -> str:
    """The status (one of STATUSES) of a claim whose rates rows have these verdicts."""
    verdicts = list(verdicts)
    judged = [v for v in verdicts if v != OUT_OF_SCOPE]
    if any(v in _rates.CONTRADICTIONS for v in judged):
        return "refuted"
    if any(v in SUPPORTING for v in judged):
        return "supported"
    if "pre-asymptotic" in judged:
        return "pre-asymptotic"
    return "undecidable" if judged else "not judged here"


def deciding_row(rows: pd.DataFrame, claim_status: str):
    """The row of ``rows`` (one claim's rates rows) that decides ``claim_status``, or None when nothing in scope:
    for "refuted" the contradiction farthest outside its interval, else among the rows of the status's verdicts
    the one with most seeds and then the narrowest interval."""
    judged = rows[rows["verdict"] != OUT_OF_SCOPE]
    if judged.empty:
        return None
    wanted = {"refuted": _rates.CONTRADICTIONS, "supported": SUPPORTING, "pre-asymptotic": ("pre-asymptotic",)}
    candidates = judged[judged["verdict"].isin(wanted.get(claim_status, judged["verdict"].unique()))]
    candidates = candidates if not candidates.empty else judged
    if claim_status == "refuted":
        margin = [_margin(r) for _, r in candidates.iterrows()]
        return candidates.iloc[int(np.nanargmax(margin)) if np.isfinite(margin).any() else 0]
    seeds = pd.to_numeric(candidates["n_seeds"], errors="coerce").fillna(0).to_numpy()
    width = np.array([_width(r) for _, r in candidates.iterrows()])
    order = np.lexsort((np.nan_to_num(width, nan=np.inf), -seeds))
    return candidates.iloc[int(order[0])]


def compared(r) -> float:
    """The claimed slope the verdict used: with the claim's log factor over the window, where there is one."""
    with_log = r.get("claimed_slope_with_log", math.nan)
    return float(with_log) if np.isfinite(with_log) else float(r["claimed_slope"])


def _interval(r) -> tuple[float, float]:
    """The slope interval a row's verdict rests on (the lower bound's for a bracket row)."""
    if r.get("ci_method") == "bracket":
        return r.get("lower_ci_low", math.nan), r.get("lower_ci_high", math.nan)
    return r.get("ci_low", math.nan), r.get("ci_high", math.nan)


def _margin(r) -> float:
    """How far the claimed slope lies outside the row's interval (negative inside, NaN without one)."""
    low, high = _interval(r)
    a = compared(r)
    return max(low - a, a - high) if np.isfinite([low, high, a]).all() else math.nan


def _width(r) -> float:
    if r.get("ci_method") == "bracket":
        return r.get("upper_ci_high", math.nan) - r.get("upper_ci_low", math.nan)
    return r.get("ci_high", math.nan) - r.get("ci_low", math.nan)


def short_citation(citation: str) -> str:
    """First author ("et al." when several) and the arXiv id where the citation has one, e.g. "Ding et al., arXiv
    2405.05512"; the citation cut to 60 characters when it does not start with authors."""
    authors = re.match(r"\s*((?:[A-Z][\w.-]*\.\s*)+[A-Z][\w'-]+)((?:,\s*(?:[A-Z][\w.-]*\.\s*)+[A-Z][\w'-]+)*)",
                       citation)
    if authors:
        who = authors.group(1).split()[-1] + (" et al." if authors.group(2) else "")
    else:  # not a list of authors: its words up to a bracket or semicolon, and no arXiv id from further on
        citation = re.split(r" \(|;", citation)[0]
        who = citation if len(citation) <= 60 else citation[:57] + "..."
    arxiv = re.search(r"arXiv[ :]*(\d{4}\.\d{4,5})", citation)
    return who + (f", arXiv {arxiv.group(1)}" if arxiv else "")


def standing_text(claim) -> str:
    """The claim's standing; for a restated claim also from whom, and that the source's statement was not read."""
    if claim.standing != "restated":
        return claim.standing
    source = claim.source_ref if len(claim.source_ref) <= 110 else claim.source_ref[:107] + "..."
    return f"restated, from: {source or 'a secondary source'}; the source's own statement was not read"
