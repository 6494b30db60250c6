"""Schedules in n: the expression grammar (parsed, never evaluated as code), per-cell checks of the resolved value,
rounding of integer parameters, resolution in the sweep, and grouping of all n of a schedule into one rate fit."""
import math

import pytest

import chargen_theory as ct
from chargen_theory import schedules


@pytest.mark.parametrize("text, names, expected", [
    ("1 - 0.5 * n^(-1/(d_star + 3))", {"n": 1000, "d_star": 2}, 1 - 0.5 * 1000 ** (-1 / 5)),
    ("2^3^2", {}, 2.0 ** 9),  # ^ is the power, right-associative like **
    ("-n^2", {"n": 3}, -9.0),
    ("sqrt(n) * log(n) / D", {"n": 100, "D": 4}, 10 * math.log(100) / 4),
    ("max(8, min(n / 10, 64))", {"n": 2000}, 64.0),
    ("d + 1", {"d": 5}, 6.0),
])
def test_expressions(text, names, expected):
    assert schedules.evaluate("T", text, names) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "only the functions log, sqrt, min, max may be called"),
    ("__import__ + 1", "unknown name '__import__'"),
    ("n.real", "Attribute is not allowed"),
    ("[n]", "List is not allowed"),
    ("n if n else 1", "IfExp is not allowed"),
    ("exp(n)", "only the functions log, sqrt, min, max may be called"),
    ("n == 1", "Compare is not allowed"),
    ("'a'", "Constant is not allowed"),
    ("1 +", "cannot parse"),
    ("x * 2", "unknown name 'x'"),
    ("", "non-empty"),
])
def test_anything_outside_the_grammar_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        schedules.parse("T", text)


@pytest.mark.parametrize("text, names", [("1/(n - 10)", {"n": 10}), ("(-n)^0.5", {"n": 4}), ("10^n", {"n": 1000}),
                                         ("log(n - 5)", {"n": 5}), ("d_star", {"d_star": None})])
def test_values_that_are_not_finite_reals_are_refused(text, names):
    with pytest.raises(ValueError, match="^T.schedule"):
        schedules.evaluate("T", text, names)


CONFIG = """
root_seed = 3
[[experiment]]
kind = "chargen_vs_n"
target = "8gaussians"
estimator = {{ name = "kde", bandwidth = {{ schedule = "0.5 * n^(-1/6)" }} }}
n = [64, 256]
T = {T}
K = {{ schedule = "4 * n^(1/4)" }}
m = 32
n_test = 32
w2_n = 16
n_eval = 32
n_bracket = 1000
n_lower = 4000
generator = {{ name = "characteristic", width = {{ schedule = "n / 16" }}, depth = 1, epochs = 1 }}
"""


def test_config_resolves_per_cell_and_sweep_records_the_values(tmp_path):
    cfg = ct.config.loads(CONFIG.format(T='{ schedule = "1 - n^(-1/2)" }'))
    cell = cfg.experiments[0].cells[0]
    assert cell["T"] == {"schedule": "1 - n^(-1/2)"} and "h" not in cell  # the table keeps the schedule
    resolved, values = schedules.resolve(cell)
    n = cell["n"]
    assert resolved["T"] == values["T"] == 1 - n ** -0.5
    assert resolved["K"] == round(4 * n ** 0.25) and isinstance(resolved["K"], int)
    assert resolved["h"] == pytest.approx(resolved["T"] / resolved["K"])
    assert resolved["estimator_params"]["bandwidth"] == pytest.approx(0.5 * n ** (-1 / 6))
    assert resolved["generator_params"]["width"] == n // 16 and resolved["generator_params"]["depth"] == 1
    table = ct.sweep.run(cfg, tmp_path)
    assert (table["status"] == "ok").all()
    for _, row in table.iterrows():
        recorded = ct.cells.canonical_json(schedules.resolve(
            next(c for c in cfg.experiments[0].cells if c["n"] == row["n"]))[1])
        assert row["resolved"] == recorded
    assert table["T"].nunique() == 1  # one group over n for the rate fit
    groups = ct.rates.group_columns(table, "n")
    assert table.groupby(groups, dropna=False).ngroups == 1


@pytest.mark.parametrize("T, message", [
    ('{ schedule = "1 + n^(-1/2)" }', r"experiment\[0\]\.T \(schedule at n = 64\): must be in \(0, 1\]"),
    ('{ schedule = "1 - n" }', r"experiment\[0\]\.T \(schedule at n = 64\): must be in \(0, 1\]"),
    ('{ schedule = "1 - q" }', r"experiment\[0\]\.T\.schedule: unknown name 'q'"),
    ('{ schedule = "1", extra = 1 }', r"experiment\[0\]\.T: a schedule table holds only 'schedule'"),
])
def test_bad_schedules_fail_validation_naming_the_field(T, message):
    with pytest.raises(ValueError, match=message):
        ct.config.loads(CONFIG.format(T=T))


def test_only_schedulable_parameters_take_schedules():
    text = CONFIG.format(T="0.9").replace("n_eval = 32", 'n_eval = { schedule = "n" }')
    with pytest.raises(ValueError, match=r"experiment\[0\]\.n_eval: cannot be a schedule"):
        ct.config.loads(text)


def test_cells_without_schedules_are_unchanged():
    cell = {"n": 10, "T": 0.9, "K": 4, "h": 0.225, "estimator": "kde", "estimator_params": {"bandwidth": "scott"}}
    resolved, values = schedules.resolve(cell)
    assert resolved == cell and resolved is not cell and values == {}
    assert not schedules.has_schedule(cell)
