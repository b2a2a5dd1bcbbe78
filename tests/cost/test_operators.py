"""Operator energy/area laws: the published anchors are reproduced bit for bit; laws are monotone."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel.errors import ConfigError
from cost_models.operators import OperatorModel, operand
from cost_models.tables import get_table

pytestmark = pytest.mark.unit

# Horowitz ISSCC 2014, 45 nm (REFERENCE.md section 4): (key, energy pJ, area um^2).
HOROWITZ = [("int_add:8", 0.03, 36), ("int_add:32", 0.1, 137), ("int_mul:8x8", 0.2, 282),
            ("int_mul:32x32", 3.1, 3495), ("fp_add:fp16", 0.4, 1360), ("fp_add:fp32", 0.9, 4184),
            ("fp_mul:fp16xfp16", 1.1, 1640), ("fp_mul:fp32xfp32", 3.7, 7700)]


@pytest.fixture(scope="module")
def model():
    return OperatorModel()


@pytest.mark.parametrize("key,energy,area", HOROWITZ)
def test_anchor_reproduced_exactly(model, key, energy, area):
    c = model.price(key)
    assert c.energy_pj == energy and c.area_um2 == area
    assert c.node_nm == 45 and "Horowitz" in c.source


def test_int_mul_width_exponent_matches_published_fit(model):
    # REFERENCE.md: int multiply energy ~ bits^1.98 fitted from Horowitz' points.
    e = [model.price(f"int_mul:{w}x{w}").energy_pj for w in (8, 16, 32)]
    assert math.log(e[2] / e[0], 4) == pytest.approx(1.98, abs=0.01)
    assert math.log(e[1] / e[0], 2) == pytest.approx(1.98, abs=0.01)


@pytest.mark.parametrize("w", [8, 32])
def test_shift_add_multiplier_close_to_array_multiplier(model, w):
    sa, mul = model.price(f"shift_add_mul:{w}x{w}"), model.price(f"int_mul:{w}x{w}")
    assert 0.8 <= sa.energy_pj / mul.energy_pj <= 1.2


def test_l_mul_and_exponent_adders_are_one_integer_add(model):
    for kind in ("lmul_add", "exp_add", "cmp"):
        assert model.price(f"{kind}:13").energy_pj == model.price("int_add:13").energy_pj
    # a Kulisch accumulation also aligns the product: shifter + adder
    k = model.price("kulisch_add:40")
    assert k.energy_pj == pytest.approx(model.price("int_add:40").energy_pj + model.price("shift:40").energy_pj)


def test_dequant_kinds_priced_as_their_float_operator(model):
    assert model.price("dequant_mul:fp16").energy_pj == model.price("fp_mul:fp16xfp16").energy_pj
    assert model.price("dequant_add:fp32").area_um2 == model.price("fp_add:fp32").area_um2


def test_overflow_events_cost_nothing(model):
    c = model.price("acc_overflow:32")
    assert (c.energy_pj, c.area_um2) == (0.0, 0.0)


@pytest.mark.parametrize("tag,bits,e,m", [("8", 8, 0, 0), ("int4", 4, 0, 0), ("uint4", 4, 0, 0),
                                          ("fp16", 16, 5, 10), ("bf16", 16, 8, 7), ("fp32", 32, 8, 23),
                                          ("e4m3", 8, 4, 3), ("float8_e4m3fn", 8, 4, 3), ("float6_e2m3fn", 6, 2, 3),
                                          ("float4_e2m1fn", 4, 2, 1), ("float8_e8m0fnu", 8, 8, 0)])
def test_operand_tags(tag, bits, e, m):
    o = operand(tag)
    assert (o.bits, o.ebits, o.mbits) == (bits, e, m)


def test_unknown_operand_and_kind_messages(model):
    with pytest.raises(ConfigError, match=r"^unknown activity operand 'zz9'; expected a width like '8'"):
        model.price("int_add:zz9")
    with pytest.raises(ConfigError, match=r"^malformed activity key 'frob:8'; expected"):
        model.price("frob:8")


def test_node_scaling_rule():
    t = get_table()
    t22 = t.at_node(22)
    m45, m22 = OperatorModel(t), OperatorModel(t22)
    c45, c22 = m45.price("int_mul:8x8"), m22.price("int_mul:8x8")
    assert c22.area_um2 == pytest.approx(c45.area_um2 * (22 / 45) ** 2, rel=1e-12)
    assert c22.energy_pj == pytest.approx(c45.energy_pj * (22 / 45), rel=1e-12)
    assert c22.node_nm == 22
    half_v = t.at_node(45, vdd_v=0.45)
    assert OperatorModel(half_v).price("int_add:8").energy_pj == pytest.approx(0.03 / 4, rel=1e-12)
    back = t22.at_node(45)
    assert OperatorModel(back).price("fp_mul:fp16xfp16").energy_pj == pytest.approx(1.1, rel=1e-12)
    with pytest.raises(ConfigError, match=re.escape("node_nm must be a number in 1..1000 (nm), got 0")):
        t.at_node(0)


widths = st.integers(1, 64)
exps = st.integers(1, 11)
mants = st.integers(0, 30)


def _nondecreasing(f, a, b):
    lo, hi = f(a), f(b)
    return lo.energy_pj <= hi.energy_pj * (1 + 1e-12) and lo.area_um2 <= hi.area_um2 * (1 + 1e-12)


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(widths, widths, widths)
def test_integer_laws_monotone(a, b, c):
    m = OperatorModel()
    lo, hi = sorted((a, b))
    for kind in ("int_add", "exp_add", "lmul_add", "kulisch_add", "cmp", "shift", "convert"):
        assert _nondecreasing(lambda w, kind=kind: m.price(f"{kind}:{w}"), lo, hi)
    for kind in ("int_mul", "shift_add_mul", "shift"):  # shift:WxP = P-bit value placed in a W-bit window
        assert _nondecreasing(lambda w, kind=kind: m.price(f"{kind}:{w}x{c}"), lo, hi)
        assert _nondecreasing(lambda w, kind=kind: m.price(f"{kind}:{c}x{w}"), lo, hi)


@pytest.mark.property
@settings(max_examples=200, deadline=None)
@given(exps, exps, mants, mants, exps, mants)
def test_float_laws_monotone_in_every_field(e1, e2, m1, m2, eo, mo):
    m = OperatorModel()
    (elo, ehi), (mlo, mhi) = sorted((e1, e2)), sorted((m1, m2))
    other = f"e{eo}m{mo}"
    for f in (lambda e: m.price(f"fp_mul:e{e}m{mlo}x{other}"), lambda e: m.price(f"fp_mul:{other}xe{e}m{mlo}"),
              lambda e: m.price(f"fp_add:e{e}m{mlo}")):
        assert _nondecreasing(f, elo, ehi)
    for f in (lambda mm: m.price(f"fp_mul:e{elo}m{mm}x{other}"), lambda mm: m.price(f"fp_mul:{other}xe{elo}m{mm}"),
              lambda mm: m.price(f"fp_add:e{elo}m{mm}")):
        assert _nondecreasing(f, mlo, mhi)


@pytest.mark.parametrize("key", ["fp_mul:e4m3xe4m3", "fp_mul:fp16xfp16", "fp_add:e5m2", "dequant_mul:fp32"])
def test_float_breakdown_sums_to_price(model, key):
    parts = model.fp_breakdown(key)
    c = model.price(key)
    assert sum(p["energy_pj"] for p in parts.values()) == pytest.approx(c.energy_pj, rel=1e-12)
    assert sum(p["area_um2"] for p in parts.values()) == pytest.approx(c.area_um2, rel=1e-12)
    assert all(p["energy_pj"] > 0 for p in parts.values())
    want = {"significand product", "exponent add", "normalisation", "rounding"} if "mul" in key else \
        {"exponent difference", "alignment shifter", "significand add", "normalisation", "rounding"}
    assert set(parts) == want


def test_breakdown_rejects_integer_keys(model):
    with pytest.raises(ConfigError, match=r"^fp_breakdown needs a float multiply/add key, got 'int_add:8'$"):
        model.fp_breakdown("int_add:8")
