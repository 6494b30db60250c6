"""Config parsing and validation: grids, zip, K/h, defaults, claims, and one-line errors naming the field."""
import textwrap

import pytest

import chargen_theory as ct
from chargen_theory import experiments as ex

TOY = ex.register(ex.Kind(
    name="_toy_config",
    run=lambda cell, rng: {"value": 1.0},
    parameters={"n": ex.REQUIRED, "path": "linear", "T": 1.0, "K": 4, "d_star": None, "D": None},
    measurements=("value", "velocity_l2"),
    fits=(ex.Fit("value", "n", ("chargen_velocity_rate",)),),
    level=("n",),
))


def parse(text: str) -> ct.config.Config:
    return ct.config.loads(textwrap.dedent(text))


def block(body: str, head: str = "") -> str:
    return f'{head}\n[[experiment]]\nkind = "_toy_config"\n{textwrap.dedent(body)}'


def test_cartesian_product_defaults_and_h():
    cfg = parse(block('n = [10, 20, 40]\npath = ["linear", "trig"]\nT = 0.5', head="root_seed = 7\nseeds = 3"))
    (exp,) = cfg.experiments
    assert cfg.root_seed == 7 and exp.seeds == 3 and exp.kind == "_toy_config"
    assert len(exp.cells) == 6
    assert {(c["n"], c["path"]) for c in exp.cells} == {(n, p) for n in (10, 20, 40) for p in ("linear", "trig")}
    for cell in exp.cells:  # defaults filled in, h = T / K derived, optional keys absent
        assert cell["K"] == 4 and cell["h"] == 0.5 / 4 and cell["T"] == 0.5
        assert "d_star" not in cell and "D" not in cell


def test_zip_varies_keys_together():
    cfg = parse(block('n = [10, 20, 40]\nK = [2, 4, 8]\npath = ["linear", "trig"]\nzip = [["n", "K"]]'))
    pairs = sorted({(c["n"], c["K"]) for c in cfg.experiments[0].cells})
    assert pairs == [(10, 2), (20, 4), (40, 8)]
    assert len(cfg.experiments[0].cells) == 6
    flat = parse(block('n = [10, 20]\nK = [2, 4]\nzip = ["n", "K"]'))  # a single group may be written flat
    assert sorted((c["n"], c["K"]) for c in flat.experiments[0].cells) == [(10, 2), (20, 4)]


def test_h_grid_becomes_whole_steps():
    cfg = parse(block("n = 5\nT = 0.5\nh = [0.25, 0.125, 0.0625]"))
    assert sorted(c["K"] for c in cfg.experiments[0].cells) == [2, 4, 8]
    assert sorted(c["h"] for c in cfg.experiments[0].cells) == [0.0625, 0.125, 0.25]


def test_several_blocks_and_seed_override():
    text = block("n = 5\nseeds = 4", head="seeds = 2") + '\n[[experiment]]\nkind = "_toy_config"\nn = [1, 2]\n'
    cfg = parse(text)
    assert [e.seeds for e in cfg.experiments] == [4, 2]
    assert [len(e.cells) for e in cfg.experiments] == [1, 2]
    assert cfg.data["seeds"] == 2  # the parsed data is kept as given


@pytest.mark.parametrize("text, fragments", [
    (block("n = 10\nbogus = 1"), ["experiment[0]", "unknown key 'bogus'", "allowed:", "n", "path", "T"]),
    ("root_seed = 1\nfoo = 2\n" + block("n = 1"), ["config", "unknown key 'foo'", "allowed:", "experiment"]),
    ('[[experiment]]\nkind = "nope"\nn = 1', ["experiment[0].kind", "'nope'", "euler_vs_h", "w2_floor"]),
    ("[[experiment]]\nn = 1", ["experiment[0].kind", "missing", "velocity_vs_n"]),
    ("root_seed = 1", ["experiment", "at least one"]),
    (block("n = []"), ["experiment[0].n", "empty grid"]),
    (block("n = 0"), ["experiment[0].n", "integer >= 1", "0"]),
    (block("n = [10, -5]"), ["experiment[0].n[1]", "integer >= 1"]),
    (block("n = 2.5"), ["experiment[0].n", "integer >= 1"]),
    (block('n = "100"'), ["experiment[0].n", "integer >= 1"]),
    (block("n = true"), ["experiment[0].n", "integer >= 1"]),
    (block("n = 1\nK = 0"), ["experiment[0].K", "integer >= 1"]),
    (block("n = 1\nK = [4, 4]"), ["experiment[0].K", "duplicate"]),
    (block("n = 1\nT = 0"), ["experiment[0].T", "(0, 1]"]),
    (block("n = 1\nT = 1.5"), ["experiment[0].T", "(0, 1]"]),
    (block('n = 1\nT = "0.5"'), ["experiment[0].T", "number"]),
    (block("n = 1\nh = 0.3"), ["experiment[0].h", "whole number of steps"]),
    (block("n = 1\nh = 0.25\nK = 4"), ["experiment[0]", "either K or h"]),
    (block("n = 1\nh = -0.25"), ["experiment[0].h", "> 0"]),
    (block('n = 1\npath = "straight"'), ["experiment[0].path", "'straight'", "follmer", "linear", "trig"]),
    (block("n = 1\npath = 3"), ["experiment[0].path", "linear"]),
    (block("n = 1\nd_star = 3\nD = 2"), ["experiment[0].d_star", "<= D"]),
    (block("T = 0.5"), ["experiment[0].n", "missing"]),
    (block("n = 1\nseeds = 0"), ["experiment[0].seeds", "integer >= 1"]),
    ("seeds = -1\n" + block("n = 1"), ["seeds", "integer >= 1"]),
    ("root_seed = -3\n" + block("n = 1"), ["root_seed", "integer"]),
    ('root_seed = "abc"\n' + block("n = 1"), ["root_seed", "integer"]),
    (block('n = [1, 2]\nK = [2, 4, 8]\nzip = [["n", "K"]]'), ["experiment[0].zip[0]", "equal lengths"]),
    (block('n = [1, 2]\nK = 4\nzip = [["n", "K"]]'), ["experiment[0].zip[0]", "'K'", "only grid axes"]),
    (block('n = [1, 2]\nzip = [["n", "m"]]'), ["experiment[0].zip[0]", "unknown key 'm'", "allowed:"]),
    (block('n = [1, 2]\nzip = [["n"]]'), ["experiment[0].zip[0]", "at least two"]),
    (block("n = 1\nwhen = 1979-05-27"), ["experiment[0].when", "number, string"]),
    (block("n = 1\nT = nan"), ["experiment[0].T", "finite"]),
    ('out = "../elsewhere"\n' + block("n = 1"), ["out", "no '..'"]),
    ('out = "/tmp/abs"\n' + block("n = 1"), ["out", "not absolute"]),
    ('out = "a/../../b"\n' + block("n = 1"), ["out", "no '..'"]),
    ("experiment = 3", ["experiment", "[[experiment]]"]),
    (block('n = 1\nclaims = ["no_such_claim"]'), ["experiment[0].claims[0]", "'no_such_claim'", "chargen_end_to_end"]),
    (block('n = 1\nclaims = ["euler_first_order"]'), ["experiment[0].claims[0]", "euler_error vs h", "value"]),
    ('[[claim]]\nid = "c1"\nquantity = "value"\nvariable = "n"\nexponent = "__import__(\'os\')"\n' + block("n = 1"),
     ["claim[0]", "exponent", "a/(d + c)"]),
    ('[[claim]]\nid = "c1"\nquantity = "value"\nvariable = "t"\nexponent = -1\n' + block("n = 1"),
     ["claim[0]", "variable", "'t'", "h", "n"]),
    ('[[claim]]\nid = "chargen_velocity_rate"\nquantity = "value"\nvariable = "n"\nexponent = -1\n' + block("n = 1"),
     ["claim[0].id", "already defined"]),
])
def test_bad_config_raises_one_line_naming_the_field(text, fragments):
    with pytest.raises(ValueError) as info:
        ct.config.loads(text)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_malformed_toml_reports_the_line():
    with pytest.raises(ValueError, match=r"malformed TOML.*line 3"):
        ct.config.loads('root_seed = 1\n[[experiment]]\nkind = "_toy_config\n', source="bad.toml")


def test_load_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"config: cannot read .*missing\.toml"):
        ct.config.load(tmp_path / "missing.toml")


def test_load_uses_file_stem_and_out_key(tmp_path):
    path = tmp_path / "mystudy.toml"
    path.write_text(block("n = 1"))
    assert ct.config.load(path).name == "mystudy"
    path.write_text('out = "studies/first"\n' + block("n = 1"))
    assert ct.config.load(path).name == "studies/first"


def test_user_claims_are_parsed_as_data_and_attached():
    text = ('[[claim]]\nid = "my_rate"\nquantity = "velocity_l2"\nvariable = "n"\nexponent = "-2/(d + 4)"\n'
            + block('n = [10, 20]\nclaims = ["my_rate", "chargen_velocity_rate"]'))
    cfg = parse(text)
    fits = {(f.quantity, f.variable): f.claims for f in cfg.experiments[0].fits}
    assert fits == {("velocity_l2", "n"): ("my_rate",), ("value", "n"): ("chargen_velocity_rate",)}
    assert cfg.data["claim"][0]["exponent"] == "-2/(d + 4)"  # kept as text for the analysis
    default = parse(block("n = 1")).experiments[0].fits
    assert default == TOY.fits


def test_builtin_kinds_declare_registered_claims_and_measured_quantities():
    registered = set(ct.claims.names())
    for name in ("euler_vs_h", "velocity_vs_n", "chargen_vs_n", "intrinsic_dim", "w2_floor"):
        kind = ex.get(name)
        assert set(kind.parameters) <= set(ct.parameters.PARAMETERS) | set(kind.checks)
        for fit in kind.fits:
            bracket = {f"{fit.quantity}_lower", f"{fit.quantity}_upper"} <= set(kind.measurements)
            assert fit.quantity in kind.measurements or bracket, (name, fit.quantity)
            assert set(fit.claims) <= registered, (name, fit.claims)
