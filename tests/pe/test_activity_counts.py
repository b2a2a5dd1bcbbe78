"""Activity counts: formulas of M, N, K and the group size; shape-only counts equal the gemm's counts."""

import math

import numpy as np
import pytest

import accel.pe as pe
from accel.activity import parse_key

pytestmark = pytest.mark.unit

SHAPES = [(1, 1, 32), (3, 5, 64), (4, 7, 96)]


def _variants():
    for name in pe.names():
        yield pe.get(name)
    yield pe.parse("mixpe_w4a8:weight_format=uint4,group_size=16")
    yield pe.parse("mixpe_w4a8:weight_format=q4_1")
    yield pe.parse("mixpe_w4a16:weight_format=q4_1")
    yield pe.parse("mixpe_w4a16:dequant=in_loop")
    yield pe.parse("mixpe_w4a16:weight_format=uint4,dequant=in_loop")
    yield pe.parse("int8_mac:group_size=32,dequant=per_group")
    yield pe.parse("int8_mac:acc_bits=24,group_size=16,dequant=per_group")


def _w4a8(fmt, g, m, n, k):
    J, lg = k // g, math.ceil(math.log2(g))
    mn, mnj = m * n, m * n * (k // g)
    acc, sa = f"{12 + lg}", f"{8 + lg}"
    want = {"shift_add_mul:8x4": mn * k, f"int_add:{acc}": mn * k, f"convert:{acc}": mnj,
            "dequant_mul:fp32": mnj + mn, "fp_add:fp32": mnj}
    if fmt == "uint4":
        want[f"int_add:{sa}"] = m * k
        want[f"int_mul:4x{sa}"] = mnj
        want[f"int_add:{acc}"] += mnj
    if fmt == "q4_1":
        want[f"int_add:{sa}"] = m * k
        want[f"convert:{sa}"] = mnj
        want["dequant_mul:fp32"] += mnj
        want["dequant_add:fp32"] = mnj
    assert J >= 1
    return want


@pytest.mark.parametrize("fmt, g", [("int4", 32), ("int4", 8), ("uint4", 16), ("q4_1", 32), ("q4_0", 32)])
@pytest.mark.parametrize("shape", SHAPES + [(16, 9, 256)])
def test_mixpe_w4a8_counts_are_formulas(fmt, g, shape):
    m, n, k = shape
    assert pe.get("mixpe_w4a8", weight_format=fmt, group_size=g).activity_for(m, n, k) == _w4a8(fmt, g, m, n, k)


def _fp16_dequant_first(fmt, m, n, k):
    mnk = m * n * k
    want = {"dequant_mul:fp16": mnk, "fp_mul:fp16xfp16": mnk, "fp_add:fp32": mnk}
    if fmt == "uint4":
        want["int_add:5"] = mnk  # q - z
    if fmt == "q4_1":
        want["dequant_add:fp16"] = mnk  # + m
    return want


def _w4a16(fmt, g, m, n, k):
    # 4 partial products a 2^i: 3 exponent adds and 3 aligned 15-bit adds per product; group register on
    # FP16's 2^-24 grid: 40 bits + 4 weight bits + ceil(log2 g) + sign; S_a: 40 + ceil(log2 g) + sign.
    mnk, mnj, lg = m * n * k, m * n * (k // g), math.ceil(math.log2(g))
    acc, sa = f"{40 + 4 + lg + 1}", f"{40 + lg + 1}"
    want = {"exp_add:6": 3 * mnk, "int_add:15": 3 * mnk, f"kulisch_add:{acc}": mnk, f"convert:{acc}": mnj,
            "dequant_mul:fp32": mnj, "fp_add:fp32": mnj}
    if fmt == "uint4":
        want.update({f"kulisch_add:{sa}": m * k, f"int_mul:4x{sa}": mnj, f"int_add:{acc}": mnj})
    if fmt == "q4_1":
        want.update({f"kulisch_add:{sa}": m * k, f"convert:{sa}": mnj, "dequant_add:fp32": mnj})
        want["dequant_mul:fp32"] += mnj
    return want


def _int8_per_group(g, acc_bits, m, n, k):
    # integer group register (acc_bits), per output and group: convert, FP32 scale multiply and add; then
    # the per-token activation scale once per output
    mnk, mn, mnj = m * n * k, m * n, m * n * (k // g)
    return {"int_mul:8x8": mnk, f"int_add:{acc_bits}": mnk, f"convert:{acc_bits}": mnj,
            "dequant_mul:fp32": mnj + mn, "fp_add:fp32": mnj}


def expected_counts(spec, m, n, k) -> dict:
    """The counts each variant's docstring implies, written out here (default element formats)."""
    mnk, mn = m * n * k, m * n
    if spec.name == "mixpe_w4a8":
        return _w4a8(spec.weight_format, spec.group_size, m, n, k)
    if spec.name in ("mixpe_w4a16", "fp16_dequant_first") and spec.dequant == "in_loop":
        return _fp16_dequant_first(spec.weight_format, m, n, k)
    if spec.name == "mixpe_w4a16":
        return _w4a16(spec.weight_format, spec.group_size, m, n, k)
    if spec.name == "int8_mac" and spec.dequant == "per_group":
        return _int8_per_group(spec.group_size, spec.acc_bits, m, n, k)
    if spec.name == "int8_mac":
        return {"int_mul:8x8": mnk, "int_add:32": mnk, "convert:32": mn, "dequant_mul:fp32": 2 * mn}
    # e4m3 x e4m3 by default: each spans 2^-9..448, 18 magnitude bits on its grid
    if spec.name == "minifloat_mac":
        return {"fp_mul:e4m3xe4m3": mnk, "fp_add:fp32": mnk, "dequant_mul:fp32": 2 * mn}
    if spec.name == "lmul":
        return {"lmul_add:8": mnk, "fp_add:fp32": mnk, "dequant_mul:fp32": 2 * mn}
    if spec.name == "block_mac":
        bw, J = 18 + 18 + 5 + 1, k // 32
        return {"fp_mul:e4m3xe4m3": mnk, f"kulisch_add:{bw}": mnk, "exp_add:8": mn * J, f"convert:{bw}": mn * J,
                "fp_add:fp32": mn * J}
    raise AssertionError(f"no expected counts for {spec}")


@pytest.mark.parametrize("spec", list(_variants()), ids=str)
@pytest.mark.parametrize("shape", SHAPES)
def test_gemm_and_activity_for_count_the_formulas(spec, shape):
    m, n, k = shape
    rng = np.random.default_rng(0)
    _, act = spec.gemm(rng.standard_normal((m, k)), rng.standard_normal((k, n)))
    want = expected_counts(spec, m, n, k)
    assert act == want  # no overflow on this data, so no acc_overflow key
    assert spec.activity_for(m, n, k) == want
    assert all(parse_key(key) and v > 0 for key, v in act.items())


@pytest.mark.parametrize("fmt, g", [("int4", 32), ("uint4", 8), ("q4_1", 32), ("q4_0", 32)])
@pytest.mark.parametrize("shape", SHAPES + [(16, 9, 256)])
def test_w4a16_and_dequant_first_counts_are_formulas(fmt, g, shape):
    m, n, k = shape
    assert pe.get("mixpe_w4a16", weight_format=fmt, group_size=g).activity_for(m, n, k) == _w4a16(fmt, g, m, n, k)
    assert pe.get("fp16_dequant_first", weight_format=fmt, group_size=g).activity_for(m, n, k) == \
        _fp16_dequant_first(fmt, m, n, k)


def test_group_size_divides_the_high_precision_work():
    """MixPE's point: dequantization work is M N K / g, so doubling g halves it."""
    a = pe.get("mixpe_w4a8", group_size=32).activity_for(8, 8, 256)
    b = pe.get("mixpe_w4a8", group_size=64).activity_for(8, 8, 256)
    assert a["fp_add:fp32"] == 2 * b["fp_add:fp32"] == 8 * 8 * 256 // 32


@pytest.mark.parametrize("shape", SHAPES + [(5, 3, 128)])
def test_element_and_block_counts_are_formulas(shape):
    m, n, k = shape
    mnk, mn = m * n * k, m * n
    for name in ("minifloat_mac", "lmul", "block_mac"):
        assert pe.get(name).activity_for(m, n, k) == expected_counts(pe.get(name), m, n, k)
    # Kulisch width: e4m3 spans 2^-9..448 (18 magnitude bits each), + ceil(log2 K) carry bits + sign
    width = 18 + 18 + max(1, math.ceil(math.log2(k))) + 1
    assert pe.get("minifloat_mac", accumulate="kulisch").activity_for(m, n, k) == {
        "fp_mul:e4m3xe4m3": mnk, f"kulisch_add:{width}": mnk, f"convert:{width}": mn, "dequant_mul:fp32": 2 * mn}
    assert pe.get("block_mac", act_format="mxint8", weight_format="mxint8").activity_for(m, n, k)["int_mul:8x8"] == mnk


@pytest.mark.parametrize("fmt, g", [("int4", 32), ("uint4", 8), ("q4_1", 32), ("q4_0", 32), ("int4", 1024)])
@pytest.mark.parametrize("shape", SHAPES + [(16, 9, 2048)])
def test_w4a16_in_loop_counts_are_the_preset_formulas(fmt, g, shape):
    m, n, k = shape  # in_loop counts do not depend on g
    spec = pe.get("mixpe_w4a16", weight_format=fmt, group_size=g, dequant="in_loop")
    assert spec.activity_for(m, n, k) == _fp16_dequant_first(fmt, m, n, k)
    assert pe.get("fp16_dequant_first", weight_format=fmt, group_size=g).activity_for(m, n, k) == \
        _fp16_dequant_first(fmt, m, n, k)


@pytest.mark.parametrize("g, acc", [(8, 32), (32, 32), (64, 20)])
@pytest.mark.parametrize("shape", [(1, 1, 64), (3, 5, 192), (16, 9, 256)])
def test_int8_per_group_counts_are_formulas(g, acc, shape):
    m, n, k = shape
    spec = pe.get("int8_mac", group_size=g, dequant="per_group", acc_bits=acc)
    assert spec.activity_for(m, n, k) == _int8_per_group(g, acc, m, n, k)


@pytest.mark.parametrize("shape", [(3, 5, 64), (16, 9, 256), (1, 1, 128)])
def test_dequant_mul_count_follows_the_placement(shape):
    """in_loop: one dequant per MAC (M N K; the PE view, not the K N weight loads of a weight-stationary
    array); per_group: M N K / g (+ M N for W8A8's per-token scale); per_output: M N (x 2: s_a s_w, then y)."""
    m, n, k = shape
    mnk, mn = m * n * k, m * n
    for g in (8, 32):
        assert pe.get("mixpe_w4a16", group_size=g, dequant="in_loop").activity_for(m, n, k)["dequant_mul:fp16"] == mnk
        assert pe.get("mixpe_w4a16", group_size=g).activity_for(m, n, k)["dequant_mul:fp32"] == mnk // g
        per_group = pe.get("int8_mac", group_size=g, dequant="per_group").activity_for(m, n, k)
        assert per_group["dequant_mul:fp32"] == mnk // g + mn
    assert pe.get("int8_mac").activity_for(m, n, k)["dequant_mul:fp32"] == 2 * mn
