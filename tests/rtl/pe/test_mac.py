"""PE RTL vs accel's golden models in Amaranth's simulator (fast tier, no HDL simulator)."""

import numpy as np
import pytest

from accel.pe import parse
from accel.pe.intdot import group_dot
from rtl.config import mac_config
from rtl.verify.checks import check_pe, corner_groups, exhaustive_pairs, random_groups
from tests.rtl.cases import FP4_INT4, FP6, OVERFLOWING, PE_SPECS

pytestmark = pytest.mark.amaranth


@pytest.mark.parametrize("text", PE_SPECS)
def test_corner_and_random_groups_bit_exact(text):
    spec = parse(text)
    corners = corner_groups(spec)
    report = check_pe(spec, [corners, random_groups(spec, 12, seed=1)])
    assert report.ok, report.first_mismatch
    assert report.results == len(corners[0]) + 12 >= 25 + 12


@pytest.mark.parametrize("text", OVERFLOWING)
def test_corner_groups_really_overflow(text):
    """The corner set must drive the narrow accumulator past its range, or the policy goes untested."""
    spec = parse(text)
    qa, qw = corner_groups(spec)
    cfg = mac_config(spec)
    _, events = group_dot(qa.reshape(1, -1), qw.reshape(-1, 1), qa.shape[1], cfg.acc_bits, cfg.overflow)
    assert events > 0


@pytest.mark.parametrize("text,n", [("mixpe_w4a8", 256 * 16), ("mixpe_w4a8:weight_format=uint4", 256 * 16),
                                    (FP6, 64 * 64), (FP4_INT4, 16 * 16)])
def test_every_operand_pair(text, n):
    spec = parse(text)
    qa, qw = exhaustive_pairs(spec)
    assert len(qa) == n  # the fp6/fp4 formats here have no NaN/Inf codes
    report = check_pe(spec, [(qa, qw)])
    assert report.ok, report.first_mismatch


def test_minifloat_golden_values_are_the_formats_decode():
    """The minifloat check compares against accel.formats' decode on the golden Kulisch grid."""
    from accel.formats import get
    from rtl.config import golden_groups

    spec = parse(FP6)
    qa, qw = exhaustive_pairs(spec)
    gold = golden_groups(spec, qa, qw)["acc"]
    fa, fw = get("float6_e3m2fn"), get("float6_e2m3fn")
    va = fa.decode(qa[:, 0].astype(np.uint8))
    vw = fw.decode(qw[:, 0].astype(np.uint8))
    lsb = fa.min_subnormal * fw.min_subnormal
    np.testing.assert_array_equal(gold.astype(np.float64) * lsb, va * vw)


def test_mixpe_through_the_specs_integer_parts():
    """Golden values straight from ``spec.integer_parts`` (its quantizer, weights and sums), not the core."""
    from accel.pe.operands import GroupWeights

    spec = parse("mixpe_w4a8:weight_format=uint4,group_size=8")
    rng = np.random.default_rng(3)
    G, g = 40, spec.group_size
    qa = rng.integers(-127, 128, (G, g))
    qa[0, 0] = 127  # per-token scale = fp32(127/127) = 1: the spec's quantizer returns qa unchanged
    qw = rng.integers(0, 16, (G, g))
    gw = GroupWeights(qw.reshape(-1, 1), np.ones((G, 1)), rng.integers(0, 16, (G, 1)), None, g, 4, False,
                      spec.weight_scheme)
    parts = spec.integer_parts(qa.reshape(1, -1).astype(np.float64), gw)
    np.testing.assert_array_equal(parts["qa"].reshape(G, g), qa)
    from rtl.pe.mac import MacPE
    from rtl.verify.bench import run_cycles
    from rtl.verify.checks import pe_cycles

    res = run_cycles(MacPE(mac_config(spec)), "pe", pe_cycles(qa, qw), ["o"])
    got = res["outputs"]["o"]
    assert [p["acc"] for _, p in got] == parts["P"][:, 0, 0].tolist()
    assert [p["act_sum"] for _, p in got] == parts["Sa"][:, 0].tolist()


def test_int8_mac_through_the_specs_integer_parts():
    spec = parse("int8_mac")
    rng = np.random.default_rng(4)
    G, L = 24, 10
    A = rng.integers(-127, 128, (G, L)).astype(np.float64)
    W = rng.integers(-127, 128, (L, G)).astype(np.float64)
    A[:, 0], W[0, :] = 127, -127  # unit scales: codes equal the values
    parts = spec.integer_parts(A, W)
    qa, qw = parts["qa"], parts["qw"].T  # group j = row j of A with column j of W
    from rtl.pe.mac import MacPE
    from rtl.verify.bench import run_cycles
    from rtl.verify.checks import pe_cycles

    res = run_cycles(MacPE(mac_config(spec)), "pe", pe_cycles(qa, qw), ["o"])
    assert [p["acc"] for _, p in res["outputs"]["o"]] == np.diag(parts["acc"]).tolist()


def test_a_wrong_overflow_policy_is_caught(monkeypatch):
    """The check fails when the RTL's policy differs from the golden's (the test can fail)."""
    import dataclasses

    import rtl.verify.checks

    spec = parse("mixpe_w4a8:acc_bits=12,overflow=wrap")
    wrong = dataclasses.replace(mac_config(spec), overflow="saturate")
    monkeypatch.setattr(rtl.verify.checks, "mac_config", lambda s: wrong)
    report = check_pe(spec, [corner_groups(spec)])
    assert report.mismatches > 0 and not report.ok


def test_widths_come_from_the_spec():
    cfg = mac_config(parse("mixpe_w4a8:group_size=128"))
    assert (cfg.act_bits, cfg.weight_bits, cfg.acc_bits, cfg.multiplier) == (8, 4, 12 + 7, "shift_add")
    assert mac_config(parse("int8_mac:acc_bits=20")).acc_bits == 20
    assert mac_config(parse("mixpe_w4a8:weight_format=q4_1")).act_sum_bits == parse(
        "mixpe_w4a8:weight_format=q4_1").act_sum_bits


def test_unsupported_variant_message(monkeypatch):
    """Every registered variant has RTL now; the message is checked with a narrowed registry."""
    import rtl.config
    from accel.errors import ConfigError
    from accel.pe.intmac import Int8MAC
    from accel.pe.mixpe import MixPEW4A8

    narrowed = {cls: b for cls, b in rtl.config._BINDINGS.items() if cls in (Int8MAC, MixPEW4A8)}
    monkeypatch.setattr(rtl.config, "_BINDINGS", narrowed)
    with pytest.raises(ConfigError, match=r"^no RTL for PE variant 'lmul'; variants with RTL: int8_mac, mixpe_w4a8$"):
        mac_config(parse("lmul"))
