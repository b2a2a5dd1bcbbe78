"""Every code of every <=8-bit format against ml_dtypes and gfloat; classes; integer formats."""

import gfloat
import ml_dtypes
import numpy as np
import pytest

import accel.formats as F
from tests.formats.oracles import ML_DTYPES, gfloat_info, small_float_names

pytestmark = pytest.mark.unit

GFLOAT_CLASS = {"ZERO": "zero", "SUBNORMAL": "subnormal", "NORMAL": "normal", "INFINITE": "inf", "NAN": "nan"}


def same_values(a, b) -> bool:
    """Equal values, equal signs (incl. -0.0), NaN where NaN."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    nan = np.isnan(a)
    return (np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
            and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


@pytest.mark.parametrize("name", [n for n in small_float_names() if n in ML_DTYPES])
def test_every_code_decodes_like_ml_dtypes(name):
    fmt = F.get(name)
    codes = fmt.codes()
    ref = codes.astype(np.uint8).view(ML_DTYPES[name]).astype(np.float64)
    assert same_values(fmt.decode(codes), ref)


@pytest.mark.parametrize("name", small_float_names())
def test_every_code_decodes_and_classifies_like_gfloat(name):
    fmt = F.get(name)
    info = gfloat_info(fmt)
    codes = fmt.codes()
    ref = gfloat.decode_ndarray(info, codes.astype(np.uint64))
    assert same_values(fmt.decode(codes), ref)
    ref_classes = [GFLOAT_CLASS[gfloat.decode_float(info, int(c)).fclass.name] for c in codes]
    assert list(fmt.classify(codes)) == ref_classes


@pytest.mark.parametrize("name", small_float_names())
def test_derived_limits_agree_with_gfloat(name):
    fmt = F.get(name)
    info = gfloat_info(fmt)
    assert fmt.max == info.max
    assert fmt.has_inf == (info.num_posinfs > 0)
    assert fmt.has_nan == (info.num_nans > 0)
    assert fmt.min_subnormal == info.smallest
    values = fmt.decode(fmt.codes())
    finite = values[np.isfinite(values)]
    assert fmt.max == finite.max()
    assert fmt.min_subnormal == finite[finite > 0].min()


@pytest.mark.parametrize("name", [n for n in ML_DTYPES if n in F.names()])
def test_limits_agree_with_ml_dtypes_finfo(name):
    fmt, info = F.get(name), ml_dtypes.finfo(ML_DTYPES[name])
    assert fmt.max == float(info.max)
    assert fmt.min_normal == float(info.smallest_normal)
    assert fmt.min_subnormal == float(info.smallest_subnormal)
    assert fmt.bits == info.bits


@pytest.mark.parametrize(("name", "expected_max"), [("e2m1", 6.0), ("e3m2", 28.0), ("e4m3", 480.0),
                                                     ("e5m2", 114688.0), ("float8_e4m3fn", 448.0)])
def test_brevitas_maxima_from_reference(name, expected_max):
    # REFERENCE.md section 1 (Brevitas minifloats): no Inf/NaN codes, so the top code is finite.
    assert F.get(name).max == expected_max
    assert not F.get(name).has_nan or name == "float8_e4m3fn"


def test_fp4_value_set_from_reference():
    fmt = F.get("float4_e2m1fn")
    values = fmt.decode(fmt.codes())
    assert sorted(set(values[values >= 0].tolist())) == [0, 0.5, 1, 1.5, 2, 3, 4, 6]


INT_DTYPES = {"int2": ml_dtypes.int2, "int4": ml_dtypes.int4, "int8": np.int8,
              "uint2": ml_dtypes.uint2, "uint4": ml_dtypes.uint4, "uint8": np.uint8}


@pytest.mark.parametrize("name", list(INT_DTYPES))
def test_int_codes_decode_like_ml_dtypes(name):
    fmt = F.get(name)
    ref = fmt.codes().astype(np.uint8).view(INT_DTYPES[name]).astype(np.float64)
    assert np.array_equal(fmt.decode(fmt.codes()), ref)


@pytest.mark.parametrize("bits", range(2, 9))
def test_every_int_code_is_twos_complement(bits):
    # Oracle: numpy's arithmetic right shift of the code placed in the top bits of an int8.
    fmt = F.get(f"int{bits}")
    ref = (fmt.codes().astype(np.uint8) << np.uint8(8 - bits)).view(np.int8) >> (8 - bits)
    assert np.array_equal(fmt.decode(fmt.codes()), ref.astype(np.float64))
    assert fmt.max == 2 ** (bits - 1) - 1 and fmt.decode(fmt.codes()).min() == -(2 ** (bits - 1))
    assert np.array_equal(F.get(f"uint{bits}").decode(fmt.codes()), np.arange(2**bits))


@pytest.mark.parametrize("name", ["fp16", "bf16"])
def test_scale_formats_decode_every_code_like_numpy(name):
    fmt = F.get(name)
    codes = np.arange(2**16, dtype=np.uint16)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting signalling-NaN bf16 codes
        ref = codes.view(ML_DTYPES[name]).astype(np.float64)
    assert same_values(fmt.decode(codes), ref)


def test_fp32_decodes_like_numpy():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    codes[:4] = [0, 0x80000000, 0x7F800000, 0x00000001]
    with np.errstate(invalid="ignore"):  # signalling NaNs warn when widened
        ref = codes.view(np.float32).astype(np.float64)
    assert same_values(F.get("fp32").decode(codes), ref)


def test_e8m0_alias_is_the_same_format_as_ml_dtypes_name():
    a, b = F.get("e8m0"), F.get("float8_e8m0fnu")
    assert same_values(a.decode(a.codes()), b.decode(b.codes()))
    assert a.max == b.max == 2.0**127 and a.min_subnormal == 2.0**-127
