"""The claims registry: exponents for known dimensions, validity ranges, user claims parsed (never evaluated)."""
import math

import pytest

import chargen_theory as ct
from chargen_theory import claims


@pytest.fixture
def scratch_registry(monkeypatch):
    """Let a test register claims without leaking them into other tests."""
    monkeypatch.setattr(claims, "_REGISTRY", dict(claims._REGISTRY))


def test_required_claims_are_registered():
    required = {"euler_first_order", "chargen_velocity_rate", "chargen_end_to_end", "fm_velocity_rate_gao2024",
                "chargen_manifold_rate", "empirical_w2_1d", "empirical_w2_2d", "empirical_w2_3d",
                "empirical_w2_highd"}
    assert required <= set(claims.names())
    for name in claims.names():
        c = claims.get(name)
        assert c.citation and c.conditions and c.variable in ("n", "h")


@pytest.mark.parametrize("claim_id, d, d_star, expected", [
    ("chargen_velocity_rate", 2, None, -1 / 5),
    ("chargen_velocity_rate", 7, 2, -1 / 10),
    ("chargen_end_to_end", 2, None, -0.2),
    ("fm_velocity_rate_gao2024", 2, None, -1 / 7),
    ("chargen_manifold_rate", 10, 2, -1 / 5),   # d* replaces D
    ("euler_first_order", 3, 3, 1.0),
    ("empirical_w2_1d", 1, 1, -1 / 2),
    ("empirical_w2_2d", 2, 2, -1 / 4),          # Fournier-Guillin: E W2^2 <~ n^(-1/2) for d < 4
    ("empirical_w2_2d_density", 2, 2, -1 / 2),
    ("empirical_w2_3d", 3, 3, -1 / 4),
    ("empirical_w2_3d_density", 3, 3, -1 / 3),
    ("empirical_w2_4d", 4, 4, -1 / 4),
    ("empirical_w2_highd", 8, 6, -1 / 6),       # uses d*, the dimension of the law
])
def test_exponents_for_known_dimensions(claim_id, d, d_star, expected):
    assert claims.get(claim_id).exponent(d=d, d_star=d_star) == pytest.approx(expected, rel=1e-15)


def test_signs_follow_the_variable():
    for name in claims.names():
        c = claims.get(name)
        lo = c.dims[0]
        slope = c.exponent(d=lo, d_star=lo)
        assert (slope < 0) if c.variable == "n" else (slope > 0)


def test_claims_refuse_dimensions_outside_their_range():
    with pytest.raises(ValueError, match=r"empirical_w2_1d.*d_star"):
        claims.get("empirical_w2_1d").exponent(d=2, d_star=2)
    with pytest.raises(ValueError, match="empirical_w2_highd"):
        claims.get("empirical_w2_highd").exponent(d_star=4)
    with pytest.raises(ValueError, match="chargen_manifold_rate"):
        claims.get("chargen_manifold_rate").exponent(d=3)  # no d* given
    assert not claims.get("empirical_w2_2d").applies(d=3, d_star=3)
    assert not claims.get("empirical_w2_2d").applies()               # its range needs a known d*
    assert claims.get("euler_first_order").exponent() == 1.0          # constant for every d: no d needed
    assert claims.get("empirical_w2_highd").applies(d_star=5)


def test_unknown_claim_lists_the_registered_ids():
    with pytest.raises(ValueError) as info:
        claims.get("chargen_rate_typo")
    message = str(info.value)
    assert "chargen_rate_typo" in message
    for name in claims.names():
        assert name in message


def test_formula_text():
    assert claims.get("chargen_velocity_rate").formula == "-1/(d+3)"
    assert claims.get("chargen_manifold_rate").formula == "-1/(d*+3)"
    assert claims.get("empirical_w2_2d").formula == "-1/4"
    assert claims.get("euler_first_order").formula == "1"


@pytest.mark.parametrize("text, d, expected", [
    ("-2/(d+4)", 2, -1 / 3),
    ("-1/(d - 1)", 3, -1 / 2),
    ("-1 / ( d )", 5, -1 / 5),
    ("-0.25", 9, -0.25),
    ("-1/3", 9, -1 / 3),
    (-0.5, 9, -0.5),
])
def test_from_dict_parses_exponents(text, d, expected):
    c = claims.from_dict({"id": "user_rate", "quantity": "velocity_l2", "variable": "n", "exponent": text,
                          "dims": [2, 10]})
    assert c.exponent(d=d) == pytest.approx(expected, rel=1e-15)


def test_from_dict_uses_d_star_when_asked():
    c = claims.from_dict({"id": "user_rate", "quantity": "velocity_l2", "variable": "n", "exponent": "-1/(d+2)",
                          "uses": "d_star", "kind": "rate", "log_power": 1})
    assert c.exponent(d=10, d_star=2) == pytest.approx(-0.25)
    assert c.formula == "-1/(d*+2)" and c.kind == "rate" and c.log_power == 1.0


@pytest.mark.parametrize("spec, match", [
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "__import__('os').getcwd()"}, "exponent"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "-1/(x+3)"}, "exponent"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "-1/0"}, "divides by zero"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "0.5"}, "negative"),
    ({"id": "x", "quantity": "q", "variable": "h", "exponent": "-1"}, "positive"),
    ({"id": "x", "quantity": "q", "variable": "t", "exponent": "-1"}, "variable.*allowed: h, n"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "-1", "uses": "D"}, "uses.*allowed: d, d_star"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": "-1/(d-3)"}, "dim \\+ offset"),
    ({"id": "x", "quantity": "q", "variable": "n"}, "missing key.*exponent"),
    ({"id": "x", "quantity": "q", "variable": "n", "exponent": -1, "rate": 2}, "unknown key.*rate.*allowed"),
    ({"id": "bad id", "quantity": "q", "variable": "n", "exponent": -1}, "claim id"),
])
def test_from_dict_rejects_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        claims.from_dict(spec)


def test_register_adds_a_claim_and_refuses_a_different_one_under_a_taken_id(scratch_registry):
    c = claims.from_dict({"id": "user_rate", "quantity": "w2", "variable": "n", "exponent": -0.3})
    assert claims.register(c) is c
    assert claims.get("user_rate") == c and "user_rate" in claims.names()
    claims.register(c)  # the same claim again is harmless
    other = claims.from_dict({"id": "user_rate", "quantity": "w2", "variable": "n", "exponent": -0.4})
    with pytest.raises(ValueError, match="already registered"):
        claims.register(other)
    with pytest.raises(ValueError, match="already registered"):
        claims.register(claims.Claim("euler_first_order", "euler_error", "h", 2.0, None))


def test_lazy_access_through_the_package():
    assert ct.claims.get("euler_first_order").exponent(d=1) == 1.0
    assert math.isinf(ct.claims.get("chargen_velocity_rate").dims[1])
