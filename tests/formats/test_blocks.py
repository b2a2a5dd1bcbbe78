"""Shared-scale schemes against oracles: MX vs gfloat, BFP vs the REFERENCE definition, GGML vs gguf."""

import gfloat
import gguf
import numpy as np
import pytest
from gfloat import formats as gf

import accel.formats as F
from accel.quant import QTensor, quantize

pytestmark = pytest.mark.unit

GFLOAT_MX = {"mxfp8_e4m3": gf.format_info_mxfp8_e4m3, "mxfp8_e5m2": gf.format_info_mxfp8_e5m2,
             "mxfp6_e2m3": gf.format_info_mxfp6_e2m3, "mxfp6_e3m2": gf.format_info_mxfp6_e3m2,
             "mxfp4": gf.format_info_mxfp4_e2m1, "mxint8": gf.format_info_mxint8}


def mx_blocks(rng, n_blocks=60, k=32) -> np.ndarray:
    """Random blocks over many magnitudes, plus all-zero blocks and blocks whose amax clips."""
    x = rng.standard_normal((n_blocks, k)) * np.ldexp(1.0, rng.integers(-30, 30, (n_blocks, 1)))
    x[0] = 0.0
    x[1, :] = 0.0
    x[1, 5] = -1e-3
    x[2] = rng.uniform(-1, 1, k)
    x[2, 7] = 1.999  # just below a power of two: rounds above the element max in every MX format: clips
    x[3, :] = 1.5 * 2.0**-140  # tiny block: the scale clips at 2**-127
    x[4] = rng.uniform(-1, 1, k)
    x[4, 9] = -1.999  # the same on the negative side (MXINT8 reaches -2.0 there)
    x[5] = 2.0 ** rng.integers(-1, 3, k) * rng.choice([-1, 1], k)  # powers of two 2**-1..2**2: exact in every format
    return x


@pytest.mark.parametrize("name", list(GFLOAT_MX))
def test_mx_equals_gfloat_quantize_block(name):
    rng = np.random.default_rng(10)
    x = mx_blocks(rng)
    fi = GFLOAT_MX[name]
    q = quantize(x, name)
    ours = q.dequantize()
    for i, block in enumerate(x):
        ref = gfloat.quantize_block(fi, block, gfloat.compute_scale_amax)
        assert np.array_equal(ours[i], ref), (name, i)
        scale = gfloat.compute_scale_amax(fi.etype.emax, block)  # the spec's floor rule, computed by gfloat
        assert q.scales[i, 0] == scale, (name, i)
        codes = list(gfloat.encode_block(fi, scale, block / scale))
        assert int(F.get("e8m0").encode(q.scales[i, 0])) == codes[0]
        assert q.codes[i].astype(int).tolist() == codes[1:]
    assert np.all(ours[0] == 0) and q.scales[0, 0] == 2.0**-127  # all-zero block: smallest scale, zero codes
    assert ours[2, 7] == fi.etype.max * q.scales[2, 0] < 1.999  # clipped to the element's max times the scale
    # negative side: -max (MXINT8's two's complement reaches -2.0, which -1.999 rounds to without clipping)
    assert ours[4, 9] == (-2.0 if name == "mxint8" else -fi.etype.max * q.scales[4, 0])
    assert np.array_equal(ours[5], x[5])
    assert F.get(name).bits_per_element == F.get(name).element.bits + 0.25


def test_mx_scale_is_the_floor_rule_from_reference():
    # X = 2**(floor(log2(amax)) - emax_elem), emax: E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0.
    emax = {"mxfp8_e4m3": 8, "mxfp8_e5m2": 15, "mxfp6_e3m2": 4, "mxfp6_e2m3": 2, "mxfp4": 2, "mxint8": 0}
    x = np.array([[0.75] * 31 + [-5.9]])
    for name, e in emax.items():
        assert quantize(x, name).scales[0, 0] == 2.0 ** (2 - e)


def bfp_reference(x: np.ndarray, n: int, b: int) -> np.ndarray:
    """REFERENCE.md BFP: E = floor(log2 max|x|), step = 2**(E - (n-2)), q = clip(round(x/step)) * step."""
    out = np.zeros_like(x)
    for i in range(0, x.size, b):
        block = x[i:i + b]
        amax = np.max(np.abs(block))
        if amax == 0:
            continue
        step = 2.0 ** (np.floor(np.log2(amax)) - (n - 2))
        lim = 2 ** (n - 1) - 1
        out[i:i + b] = np.clip(np.round(block / step), -lim, lim) * step
    return out


@pytest.mark.parametrize("base", ["bfp12", "bfp14", "bfp16"])
@pytest.mark.parametrize("block", [16, 32, 64, 128])
def test_bfp_equals_reference_definition(base, block):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(128 * 8) * np.repeat(np.ldexp(1.0, rng.integers(-8, 8, 8)), 128)
    x[:block] = 0.0
    x[block:2 * block] = rng.uniform(-1, 1, block)
    x[block + 3] = -1.999 * 8  # amax just below 2**4: rounds to 2**(n-1) steps and must clip to 2**(n-1) - 1
    n = {"bfp12": 4, "bfp14": 6, "bfp16": 8}[base]
    fmt = F.get(f"{base}_b{block}")
    ours = quantize(x, fmt).dequantize()
    assert np.array_equal(ours, bfp_reference(x, n, block))
    assert ours[block + 3] == -(2 ** (n - 1) - 1) * 2.0 ** (3 - (n - 2))  # the clip happened
    assert fmt.bits_per_element == n + 8 / block


GGML = {"q4_0": gguf.GGMLQuantizationType.Q4_0, "q4_1": gguf.GGMLQuantizationType.Q4_1,
        "q8_0": gguf.GGMLQuantizationType.Q8_0}


def ggml_inputs(rng) -> np.ndarray:
    x = rng.standard_normal((16, 256)).astype(np.float32) * np.float32(0.05)
    x[0, :32] = 0.0  # all-zero block
    x[1, :32] = 3.0  # constant block
    x[2, :32] = -np.arange(32, dtype=np.float32)  # extreme at the end, negative
    x[3, :64] *= 1e4  # fp16 scale near its limits
    x[4, 32:64] = np.linspace(-1, 1, 32, dtype=np.float32)  # exact .5 ties after scaling
    return x


@pytest.mark.parametrize("name", list(GGML))
def test_ggml_bytes_and_values_equal_gguf(name):
    x = ggml_inputs(np.random.default_rng(12))
    q = quantize(x, name)
    ref = gguf.quants.quantize(x, GGML[name])
    assert q.to_bytes() == ref.tobytes()
    ref_values = gguf.quants.dequantize(ref, GGML[name])
    # Ours is the exact value of d*q (+ m); gguf computes it in float32: equal after rounding to float32.
    assert np.array_equal(q.dequantize().astype(np.float32), ref_values)
    back = QTensor.from_bytes(ref.tobytes(), name, x.shape)
    assert np.array_equal(back.dequantize(), q.dequantize())
    assert len(ref.tobytes()) * 8 == x.size * F.get(name).bits_per_element


def test_ggml_q4_formulas_from_reference():
    x = ggml_inputs(np.random.default_rng(13))
    q0, q1 = quantize(x, "q4_0"), quantize(x, "q4_1")
    v0 = q0.element_values()
    assert v0.min() >= 0 and v0.max() <= 15
    assert np.array_equal(q0.dequantize(), np.repeat(q0.scales, 32, axis=1) * (v0 - 8))
    assert np.array_equal(q1.dequantize(), np.repeat(q1.scales, 32, axis=1) * q1.element_values()
                          + np.repeat(q1.mins, 32, axis=1))


@pytest.mark.parametrize("name", ["int4_g128", "int8_g32", "int3_g64", "int8_per_channel"])
def test_symmetric_group_error_is_at_most_half_a_step(name):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((256, 8)) * 3
    q = quantize(x, name, axis=0)
    g = q.group_size
    assert q.scales.shape == (256 // g, 8) and q.zeros is None
    step = np.repeat(q.scales, g, axis=0)
    # fp16 scale rounding can make amax / s exceed the top code by a hair: allow that clipping.
    el = F.get(name).element
    assert np.all(np.abs(q.dequantize() - x) <= step / 2 + np.maximum(np.abs(x) - el.max * step, 0) + 1e-12)
    assert np.all(q.element_values() >= -el.max) and np.all(q.element_values() <= el.max)


@pytest.mark.parametrize("name", ["uint4_g32_asym", "uint8_g128_asym", "uint4_per_channel_asym"])
def test_asymmetric_group_maps_range_and_keeps_zero_exact(name):
    rng = np.random.default_rng(15)
    x = rng.uniform(-1, 3, (4, 256))
    x[:, ::7] = 0.0
    q = quantize(x, name)
    assert q.zeros is not None and q.zeros.dtype.kind == "i"
    el = F.get(name).element
    assert q.element_values().min() >= 0 and q.element_values().max() <= el.max_int
    dq = q.dequantize()
    assert np.all(dq[:, ::7] == 0.0)  # an integer zero point represents 0 exactly
    step = np.repeat(q.scales, q.group_size, axis=1)
    assert np.all(np.abs(dq - x) <= step * 0.5 + 1e-3 * step)


def test_minifloat_group_with_e8m0_scale():
    x = np.random.default_rng(16).standard_normal((2, 64))
    q = quantize(x, "float4_e2m1fn_g32_e8m0")
    assert np.all(np.log2(q.scales) == np.round(np.log2(q.scales)))
    assert F.get("float4_e2m1fn_g32_e8m0").bits_per_element == 4 + 8 / 32


def test_all_zero_groups_quantize_to_zero():
    for name in ["int4_g32", "uint4_g32_asym", "mxfp4", "bfp12_b32", "q4_0", "q4_1", "q8_0"]:
        q = quantize(np.zeros((2, 64)), name)
        assert np.array_equal(q.dequantize(), np.zeros((2, 64))), name


def test_quantize_along_axis_zero_equals_transposed():
    x = np.random.default_rng(17).standard_normal((128, 6))
    a, b = quantize(x, "int4_g32", axis=0), quantize(x.T, "int4_g32", axis=-1)
    assert np.array_equal(a.codes, b.codes.T) and np.array_equal(a.scales, b.scales.T)
    assert np.array_equal(a.dequantize(), b.dequantize().T)


def test_quantize_rounding_modes():
    x = np.random.default_rng(18).standard_normal((4, 64))
    near = quantize(x, "int4_g32")
    tz = quantize(x, "int4_g32", rounding="toward_zero")
    ratio = x / np.repeat(tz.scales, 32, axis=1)
    assert np.all(np.abs(tz.element_values()) <= np.abs(ratio)) and not np.array_equal(tz.codes, near.codes)
    s1, s2 = (quantize(x, "mxfp4", rounding="stochastic", seed=s) for s in (1, 1))
    assert np.array_equal(s1.codes, s2.codes)
    assert not np.array_equal(s1.codes, quantize(x, "mxfp4", rounding="stochastic", seed=2).codes)
    bfp = quantize(x, "bfp16_b32", rounding="nearest_away")
    assert np.all(np.abs(bfp.dequantize() - x) <= np.repeat(bfp.scales, 32, axis=1) / 2)
