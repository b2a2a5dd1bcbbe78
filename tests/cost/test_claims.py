"""The papers' cost claims recomputed: L-Mul energy, per-MAC FPGA cost of 3-8-bit INT and ExMy pairs."""

import pytest

from cost_models.operators import OperatorModel
from cost_models.studies.claims import LMUL_PAPER, lmul_energy, mac_formats, mac_keys, mac_sweep, plot_mac_sweep

pytestmark = pytest.mark.unit


def test_lmul_is_an_integer_add_over_exponent_and_mantissa_fields():
    m = OperatorModel()
    rows = {r["format"]: r for r in lmul_energy(m)["rows"]}
    assert rows["fp16"]["lmul_pj"] == m.price("int_add:15").energy_pj  # E5 + M10
    assert rows["e4m3"]["lmul_pj"] == m.price("int_add:7").energy_pj
    assert rows["fp32"]["fp_mul_pj"] == 3.7 and rows["fp16"]["fp_mul_pj"] == 1.1  # Horowitz anchors
    r = rows["fp16"]
    assert r["elementwise_saving"] == pytest.approx(1 - r["lmul_pj"] / r["fp_mul_pj"])


def test_lmul_elementwise_saving_near_paper_for_16_and_32_bit():
    # The paper's 95% is for the 16/32-bit multipliers it replaces; our laws give the same within 3 points.
    rows = {r["format"]: r for r in lmul_energy()["rows"]}
    for f in ("fp16", "fp32"):
        assert abs(rows[f]["elementwise_saving"] - LMUL_PAPER["elementwise_saving"]) < 0.03
    # FP8 multipliers are much cheaper, so the saving shrinks (our finding, reported in docs/cost_models.md).
    assert rows["e4m3"]["elementwise_saving"] < rows["fp16"]["elementwise_saving"]


def test_dot_product_saving_is_below_elementwise_saving():
    for acc in ("fp32", "same"):
        for r in lmul_energy(accumulate=acc)["rows"]:
            assert r["dot_product_saving"] < r["elementwise_saving"]


def test_mac_format_enumeration():
    fmts = mac_formats()
    names = {f.name for f in fmts}
    assert {f"int{b}" for b in range(3, 9)} <= names
    # every ExMy with 1 + E + M bits in 3..8 and E >= 1: sum over b of (b - 1) formats
    assert len([f for f in fmts if f.is_float]) == sum(b - 1 for b in range(3, 9))
    assert {"e4m3", "e5m2", "e2m1", "e3m2", "e2m3", "e1m1", "e2m0"} <= names


def test_mac_keys_accumulator_widths():
    f = {x.name: x for x in mac_formats()}
    # INT8 x INT8 over K=1024: 16-bit products + 10 bits of growth.
    assert mac_keys(f["int8"], f["int8"]) == ["int_mul:8x8", "int_add:26"]
    # E2M1 (FP4) spans 2^2 - 1 + 1 = 4 bits of fixed point: product range 8 bits + 10 + sign.  The 4-bit
    # significand product is placed at offsets 0..(2^2 - 2) x 2 and made two's complement (9 bits with its sign).
    assert mac_keys(f["e2m1"], f["e2m1"]) == ["int_mul:2x2", "exp_add:3", "shift:4x4", "negate:9", "int_add:19"]
    # E1Mx has a single binade (plus subnormals): nothing to align
    assert not [k for k in mac_keys(f["e1m2"], f["e1m2"]) if k.startswith("shift")]


def test_mac_sweep_table_and_plot(tmp_path):
    df = mac_sweep("xc7")
    assert len(df) == 6 * 6 + 27 * 27
    assert (df.luts > 0).all() and (df.energy_pj > 0).all()
    g = df.set_index(["weight", "activation"])
    # wider exponents need wider alignment shifters and accumulators at equal bit width
    assert g.loc[("e5m2", "e5m2"), "luts"] > g.loc[("e4m3", "e4m3"), "luts"] > g.loc[("e2m5", "e2m5"), "luts"]
    path = plot_mac_sweep(df, str(tmp_path / "macs.png"))
    assert (tmp_path / "macs.png").stat().st_size > 1000 and path.endswith("macs.png")
