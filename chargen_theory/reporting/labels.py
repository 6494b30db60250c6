"""Short labels for fitted groups, for the report's tables and the figures' legends.

A rates table names each group by all its parameters (``rates.describe_group``), often hundreds of characters.
``group_labels`` gives every group (one (experiment, variable, target, group) of the table) an id "G1", "G2", ...
and a compact description made of only the parameters that tell it apart from the other groups of its experiment,
e.g. "gaussian D=5" against "gaussian D=8", or "8gaussians est.epochs=500000/n". JSON parameters (target_params,
a schedule, estimator or generator options) are split into their leaves, so that one differing leaf shows instead of
a cut-off object; the same table lists every parameter of each group, for the report's legend table.
"""
from __future__ import annotations

import json
import re

import pandas as pd

from ..study import parameters
from ..verdicts.rates import format_value, is_empty

KEY = ("experiment", "variable", "target", "group")  # the rates columns that identify a fitted group
_PREFIX = {"target_params": "", "options": "", "estimator_params": "est.", "generator_params": "gen."}
_ORDER = ("target", "D", "d_star", "estimator", "generator", "path", "T", "m", "K")  # scalar columns, first first
_WIDTH = 18  # characters of one leaf value in a compact description


def group_keys(rates: pd.DataFrame) -> pd.Series:
    """The group of every rates row as a tuple (experiment, variable, target, group), all text."""
    return pd.Series([tuple(_text(v) for v in row) for row in rates[list(KEY)].itertuples(index=False)],
                     index=rates.index, dtype=object)


def group_labels(rates: pd.DataFrame) -> pd.DataFrame:
    """One row per fitted group of ``rates`` (in sorted key order) with columns key (tuple, see ``group_keys``),
    label ("G1", ...), compact (the parameters that set it apart within its experiment, <= about 60 characters)
    and parameters (every non-empty parameter, "name=value; ...")."""
    if rates.empty:
        return pd.DataFrame(columns=["key", "label", "compact", "parameters"])
    keys = group_keys(rates)
    first = rates.groupby(keys, sort=True).head(1)
    first = first.assign(_key=group_keys(first)).sort_values("_key", kind="stable")
    columns = [c for c in parameters.COLUMNS if c in first.columns]
    params = [{c: row[c] for c in columns if not is_empty(row[c]) and _text(row[c]) != "{}"}
              for _, row in first.iterrows()]
    compact = [""] * len(first)
    experiments = first["experiment"].astype(str).to_numpy()
    for experiment in dict.fromkeys(experiments):
        members = [i for i, e in enumerate(experiments) if e == experiment]
        for i, text in zip(members, _compact([params[i] for i in members])):
            compact[i] = text
    order = sorted(range(len(first)), key=lambda i: (first["_key"].iloc[i][:2], _natural(compact[i]),
                                                     first["_key"].iloc[i]))
    return pd.DataFrame({
        "key": [first["_key"].iloc[i] for i in order], "label": [f"G{j + 1}" for j in range(len(order))],
        "compact": [compact[i] for i in order],
        "parameters": ["; ".join(f"{c}={_text(v)}" for c, v in params[i].items()) for i in order]})


def _compact(params: list[dict]) -> list[str]:
    """Compact descriptions of groups of one experiment: the target, then the leaves (scalar columns first, then
    JSON leaves, shortest first) that split groups not yet told apart."""
    leaves = [_leaves(p) for p in params]
    seen = list(dict.fromkeys(name for leaf in leaves for name in leaf))
    names = sorted(seen, key=lambda name: (_ORDER.index(name) if name in _ORDER else len(_ORDER), "." in name,
                                           max(len(leaf.get(name, "")) for leaf in leaves), seen.index(name)))
    shown, blocks = ["target"], [list(range(len(params)))]
    for name in names:
        split = []
        for block in blocks:
            values = {}
            for i in block:
                values.setdefault(leaves[i].get(name), []).append(i)
            split += values.values()
        if len(split) > len(blocks):
            shown += [name] if name != "target" else []
            blocks = split
    return [" ".join(_render(name, leaf[name]) for name in shown if name in leaf) for leaf in leaves]


def _natural(text: str) -> tuple:
    """Sort key that orders the numbers inside ``text`` by value ("D=2" before "D=10")."""
    return tuple((0, float(part), "") if re.fullmatch(r"\d+(\.\d+)?", part) else (1, 0.0, part)
                 for part in re.split(r"(\d+(?:\.\d+)?)", text) if part)


def _leaves(params: dict) -> dict[str, str]:
    """{leaf name: value text}: scalar columns as they are, JSON objects split into "column.key.key" leaves (a
    schedule {"schedule": e} is the leaf e itself)."""
    out = {}
    for column, value in params.items():
        parsed = _json(value)
        if isinstance(parsed, dict) and parsed:
            for path, leaf in _walk(parsed, (column,)):
                out[".".join(path)] = leaf
        else:
            out[column] = _text(value)
    return out


def _walk(obj, path):
    if isinstance(obj, dict) and set(obj) == {"schedule"}:
        yield path, str(obj["schedule"])
    elif isinstance(obj, dict):
        for key in sorted(obj):
            yield from _walk(obj[key], (*path, str(key)))
    else:
        yield path, json.dumps(obj, separators=(",", ":")) if isinstance(obj, (list, dict)) else _text(obj)


def _render(name: str, value: str) -> str:
    if name == "target":
        return value
    column, _, rest = name.partition(".")
    shown = f"{_PREFIX.get(column, column + '.')}{rest}" if rest else column
    value = value.replace(" ", "")
    value = value if len(value) <= _WIDTH else value[:_WIDTH - 2] + ".."
    return f"{shown}={value}"


def _json(value):
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _text(value) -> str:
    return "" if is_empty(value) else format_value(value)
