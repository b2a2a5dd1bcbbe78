"""Invalid names, parameters and inputs raise FormatError with messages that list the valid choices."""

import numpy as np
import pytest

import accel.formats as F
from accel.errors import AccelError, FormatError
from accel.quant import QTensor, quantize

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("name", "pattern"), [
    ("e0m3", r"^invalid minifloat 'e0m3': need E >= 1, M >= 0 and 3 <= 1\+E\+M <= 8 bits; "
             r"valid choices: e1m1, e2m0, .*, e7m0$"),
    ("e4m4", r"^invalid minifloat 'e4m4': .*valid choices: e1m1, "),
    ("int0", r"^invalid integer format 'int0': bits must be 2\.\.8; valid choices: int2, int3, int4, int5, int6, "
             r"int7, int8$"),
    ("uint9", r"^invalid integer format 'uint9': bits must be 2\.\.8; valid choices: uint2, .*, uint8$"),
    ("int4_g0", r"^'int4_g0': group size must be a positive integer, got 0; valid choices: g1, g2, \.\.\. "),
    ("uint4_g32", r"^'uint4_g32': unsigned element 'uint4' needs a zero point; valid choices: append '_asym'"),
    ("int4_g32_asym", r"^'int4_g32_asym': a zero point needs an unsigned integer element, got 'int4'; "
                      r"valid choices: uint2, "),
    ("mxfp4_g32", r"^'mxfp4_g32': group element 'mxfp4' must be an integer or a signed minifloat; valid choices: "
                  r"int2, int3, .*, float8_e4m3fn, "),
    ("nosuch", r"^unknown format 'nosuch'; valid choices: int2, int3, .*float8_e4m3fn, .*mxfp4, .*q4_0, "),
    ("fp8", r"^unknown format 'fp8'; valid choices: "),
])
def test_bad_names(name, pattern):
    with pytest.raises(FormatError, match=pattern):
        F.get(name)


def test_format_error_is_a_project_error():
    assert issubclass(FormatError, AccelError) and issubclass(FormatError, ValueError)


def test_group_size_must_divide_the_axis():
    with pytest.raises(FormatError, match=r"^axis 1 has length 100, not a multiple of the group size 128 of "
                                          r"'int4_g128'; valid group sizes for this axis: 1, 2, 4, 5, 10, 20, "
                                          r"25, 50, 100$"):
        quantize(np.zeros((3, 100)), "int4_g128")
    with pytest.raises(FormatError, match=r"^axis 0 has length 40, not a multiple of the group size 32 of 'mxfp4'"):
        quantize(np.zeros((40, 3)), "mxfp4", axis=0)


@pytest.mark.parametrize("call", [
    lambda: F.get("int4").encode([1.0], rounding="up"),
    lambda: F.get("float8_e4m3fn").encode([1.0], rounding="nearest"),
    lambda: quantize(np.zeros(32), "int4_g32", rounding="round"),
])
def test_unknown_rounding(call):
    with pytest.raises(FormatError, match=r"^unknown rounding mode '\w+'; valid choices: nearest_even, "
                                          r"nearest_away, toward_zero, stochastic$"):
        call()


def test_ggml_rejects_other_roundings():
    with pytest.raises(FormatError, match=r"^q4_0: GGML formats round as llama\.cpp does; got "
                                          r"rounding='toward_zero'; valid choices: None$"):
        quantize(np.zeros(32), "q4_0", rounding="toward_zero")


def test_element_format_is_not_a_scheme():
    with pytest.raises(FormatError, match=r"^'int4' is an element format, not a quantization scheme; "
                                          r"valid choices: group schemes"):
        quantize(np.zeros(32), "int4")


def test_bad_axis_and_codes_and_bytes():
    with pytest.raises(FormatError, match=r"^axis 2 out of range for a 2-D array; valid choices: -2\.\.1$"):
        quantize(np.zeros((2, 32)), "int4_g32", axis=2)
    with pytest.raises(FormatError, match=r"^float4_e2m1fn: code 16 does not fit in 4 bits; valid codes: 0\.\.15$"):
        F.get("float4_e2m1fn").decode(np.array([3, 16]))
    with pytest.raises(FormatError, match=r"^int4: code 16 does not fit in 4 bits; valid codes: 0\.\.15$"):
        F.get("int4").decode(np.array([16]))
    with pytest.raises(FormatError, match=r"^q4_0: expected 36 bytes for this shape, got 35$"):
        QTensor.from_bytes(b"\0" * 35, "q4_0", (64,))


def test_saturate_false_needs_an_overflow_code():
    with pytest.raises(FormatError, match=r"^e4m3: saturate=False needs an Inf or NaN code to overflow to, and this "
                                          r"format has none; valid choices: saturate=True or None$"):
        F.get("e4m3").encode([1.0], saturate=False)


def test_integer_nan_and_wrapped_inf():
    with pytest.raises(FormatError, match=r"^int8: cannot encode NaN, integer formats have no NaN code$"):
        F.get("int8").encode([np.nan])
    with pytest.raises(FormatError, match=r"^int8: cannot wrap an infinite input; valid choices: saturate=True"):
        F.get("int8").encode([np.inf], saturate=False)
    assert F.get("int8").decode(F.get("int8").encode([np.inf, -np.inf])).tolist() == [127, -128]


def test_invalid_float_parameters():
    with pytest.raises(FormatError, match=r"^'x': unknown specials 'weird'; valid choices: ieee, fn, fnuz, finite$"):
        F.FloatFormat("x", 4, 3, 7, "weird")
    with pytest.raises(FormatError, match=r"^'x': exponent bits must be >= 1, got 0$"):
        F.FloatFormat("x", 0, 3, 0, "finite")


def test_group_scale_format_must_cover_the_element():
    # amax / 3.4e38 underflows fp16 for any ordinary amax: refuse the scheme rather than return zeros.
    with pytest.raises(FormatError, match=r"^'bf16_g32': fp16 scales cannot scale 'bf16' \(max .*\): a group with "
                                          r"amax 1 would underflow; valid choices: a wider scale format suffix "
                                          r"\(_fp16, _bf16, _fp32, _e8m0\)$"):
        F.get("bf16_g32")
    assert np.allclose(quantize(np.ones(32), "bf16_g32_fp32").dequantize(), 1.0, rtol=2**-8, atol=0)


def test_group_scale_overflow_raises_and_underflow_flushes_to_zero():
    with pytest.raises(FormatError, match=r"^int4_g32: group scale 1\.4\d*e\+37 overflows fp16; valid choices: "
                                          r"a wider scale format suffix \(_fp16, _bf16, _fp32, _e8m0\)$"):
        quantize(np.full(32, 1e38), "int4_g32")
    tiny = np.full(32, 1e-9)  # amax / 7 is below fp16's smallest subnormal (6e-8 / 2)
    assert np.array_equal(quantize(tiny, "int4_g32").dequantize(), np.zeros(32))
    assert np.allclose(quantize(tiny, "int4_g32_fp32").dequantize(), tiny, rtol=0.1)
