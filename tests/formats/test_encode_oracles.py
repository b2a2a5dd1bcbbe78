"""Encode of random float32 (in range, beyond range, ties, specials) against ml_dtypes and gfloat.

Differences in overflow / special-value policy are stated and tested one by one below.
"""

import gfloat
import ml_dtypes
import numpy as np
import pytest

import accel.formats as F
from accel.errors import FormatError
from accel.formats.rounding import ROUNDING_MODES, STOCHASTIC_BITS, stochastic_bits
from tests.formats.oracles import GFLOAT_ROUND, ML_DTYPES, gfloat_info, small_float_names

pytestmark = pytest.mark.unit


def sample(fmt, n=20_000, seed=0) -> np.ndarray:
    """float32 values: normal-range, beyond max, subnormal-range, every value and every midpoint, specials."""
    rng = np.random.default_rng(seed)
    values = fmt.decode(fmt.codes()) if fmt.bits <= 16 else np.array([1.0])
    finite = np.unique(values[np.isfinite(values)])
    mids = (finite[:-1] + finite[1:]) / 2
    x = np.concatenate([
        rng.standard_normal(n) * fmt.max / 4,
        rng.uniform(-3, 3, n) * fmt.max,
        rng.standard_normal(n) * fmt.min_normal * 4,
        np.ldexp(rng.uniform(-1, 1, n), rng.integers(-140, 130, n)),
        finite, mids, -mids, [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan],
    ])
    with np.errstate(over="ignore"):
        return x.astype(np.float32)


def ml_codes(x, name):
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(ML_DTYPES[name]).view(F.get(name).code_dtype)


# ---- ml_dtypes: default encode equals the cast bit for bit --------------------------------------
IEEE_OR_FN = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e4m3", "float8_e3m4",
              "float8_e5m2", "float8_e5m2fnuz", "fp16", "bf16"]


@pytest.mark.parametrize("name", IEEE_OR_FN)
def test_default_encode_equals_ml_dtypes_cast(name):
    # Overflow goes to Inf (ieee) or NaN (fn, fnuz) by default, exactly as ml_dtypes does.
    x = sample(F.get(name))
    assert np.array_equal(F.get(name).encode(x), ml_codes(x, name))


def test_fp32_encode_of_float64_equals_numpy_cast():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(50_000) * 10.0 ** rng.integers(-45, 40, 50_000),
                        [3.5e38, -3.5e38, 1e-46, 2.0**-150, 3 * 2.0**-150, np.inf, np.nan]])
    with np.errstate(over="ignore"):
        ref = x.astype(np.float32).view(np.uint32)
    assert np.array_equal(F.get("fp32").encode(x), ref)


@pytest.mark.parametrize("name", ["float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"])
def test_all_finite_formats_saturate_like_ml_dtypes(name):
    x = sample(F.get(name))
    x = x[~np.isnan(x)]
    assert np.array_equal(F.get(name).encode(x), ml_codes(x, name))
    assert F.get(name).decode(F.get(name).encode([np.inf, -1e30])).tolist() == [F.get(name).max, -F.get(name).max]


@pytest.mark.parametrize("name", ["float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"])
def test_difference_nan_into_all_finite_format(name):
    # ml_dtypes silently turns NaN into -0.0; we refuse, since the format has no NaN code.
    fmt = F.get(name)
    assert fmt.decode(ml_codes(np.array([np.nan], np.float32), name)).tolist() == [-0.0]
    assert np.signbit(fmt.decode(ml_codes(np.array([np.nan], np.float32), name)))[0]
    with pytest.raises(FormatError, match=rf"^{name}: cannot encode NaN, the format has no NaN code"):
        fmt.encode([1.0, np.nan])


def test_difference_e4m3fn_overflow_nan_vs_saturate():
    fmt = F.get("float8_e4m3fn")
    x = np.array([464.0, 465.0, -465.0, 1e6, np.inf], np.float32)
    # Default and ml_dtypes: 464 is a tie that rounds (to even) down to 448; 465 rounds to 480 > max: NaN.
    assert fmt.decode(fmt.encode(x))[0] == 448.0 and np.isnan(fmt.decode(fmt.encode(x))[1:]).all()
    assert np.array_equal(fmt.encode(x), ml_codes(x, "float8_e4m3fn"))
    # saturate=True clamps; ml_dtypes agrees once the input is clipped first (REFERENCE: clip before casting).
    sat = fmt.encode(x, saturate=True)
    assert fmt.decode(sat).tolist() == [448.0, 448.0, -448.0, 448.0, 448.0]
    assert np.array_equal(sat, ml_codes(np.clip(x, -448, 448), "float8_e4m3fn"))


def test_difference_e5m2_overflow_inf_vs_saturate():
    fmt = F.get("float8_e5m2")
    # 57344 = 1.75 * 2**15 has an odd mantissa, so the tie 61440 rounds to even 2**16 -> Inf.
    x = np.array([61439.0, 61440.0, -1e9], np.float32)
    assert fmt.decode(fmt.encode(x)).tolist() == [57344.0, np.inf, -np.inf]
    assert np.array_equal(fmt.encode(x), ml_codes(x, "float8_e5m2"))
    assert fmt.decode(fmt.encode(x, saturate=True)).tolist() == [57344.0, 57344.0, -57344.0]


def test_difference_e8m0_ties_and_float32_subnormals():
    fmt = F.get("float8_e8m0fnu")
    rng = np.random.default_rng(5)
    x = np.ldexp(rng.uniform(1, 2, 50_000), rng.integers(-126, 127, 50_000))
    x = np.concatenate([x, np.ldexp(1.5, np.arange(-126, 127))]).astype(np.float32)
    ties = np.ldexp(1.5, np.arange(-126, 127)).astype(np.float32)
    # ml_dtypes rounds every tie 1.5 * 2**e up (= nearest_away on positive values); we round ties to the
    # even exponent field, as gfloat does; the MX scale rule floors (toward_zero).
    assert np.array_equal(fmt.encode(x, "nearest_away"), ml_codes(x, "float8_e8m0fnu"))
    assert not np.array_equal(fmt.encode(ties), ml_codes(ties, "float8_e8m0fnu"))
    assert np.all(fmt.encode(ties) % 2 == 0)
    assert np.array_equal(fmt.decode(fmt.encode(ties, "toward_zero")), np.ldexp(1.0, np.arange(-126, 127)))
    # Zero has no code: NaN in both.  ml_dtypes rounds float32 subnormals just above 2**-127 up to 2**-126.
    assert np.isnan(fmt.decode(fmt.encode([0.0]))).all()
    assert np.isnan(fmt.decode(ml_codes(np.zeros(1, np.float32), "float8_e8m0fnu"))).all()
    sub = np.array([1.2 * 2.0**-127], np.float32)
    assert fmt.decode(fmt.encode(sub)).tolist() == [2.0**-127]
    assert fmt.decode(ml_codes(sub, "float8_e8m0fnu")).tolist() == [2.0**-126]


def test_difference_int4_cast_truncates_and_wraps():
    # ml_dtypes' int4 cast is a C cast (truncate, then wrap modulo 16): our toward_zero + saturate=False.
    # Our default rounds to nearest even and saturates.
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.uniform(-40, 40, 10_000), np.arange(-20, 20) + 0.5]).astype(np.float32)
    for name, dt in [("int4", ml_dtypes.int4), ("uint4", ml_dtypes.uint4), ("int2", ml_dtypes.int2)]:
        fmt = F.get(name)
        y = x if fmt.signed else np.abs(x)
        assert np.array_equal(fmt.encode(y, "toward_zero", saturate=False), y.astype(dt).view(np.uint8)), name
        default = fmt.decode(fmt.encode(y))
        info = ml_dtypes.iinfo(dt)
        assert np.array_equal(default, np.clip(np.rint(y), info.min, info.max)), name


# ---- gfloat: every rounding mode, with and without saturation -----------------------------------
def gfloat_codes(fmt, x, rounding, saturate):
    info = gfloat_info(fmt)
    bits = stochastic_bits(x.shape, 0) if rounding == "stochastic" else None
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = gfloat.round_ndarray(info, x, GFLOAT_ROUND[rounding], saturate, bits, STOCHASTIC_BITS)
        return rounded, gfloat.encode_ndarray(info, rounded)


@pytest.mark.parametrize("name", small_float_names() + ["fp16", "bf16"])
@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_encode_equals_gfloat_every_rounding_mode(name, rounding):
    fmt = F.get(name)
    x = sample(fmt, n=4000).astype(np.float64)
    if not fmt.has_nan:
        x = x[~np.isnan(x)]
    if not fmt.signed:  # gfloat's unsigned formats: positive inputs only, at least the smallest value
        x = x[x >= fmt.min_subnormal]
    for saturate in (True, False) if fmt.has_nan else (True,):
        rounded, ref = gfloat_codes(fmt, x, rounding, saturate)
        ours = fmt.encode(x, rounding, saturate)
        nan = np.isnan(rounded)  # gfloat's NaN code carries another sign bit: compare NaN-ness there
        assert np.array_equal(np.isnan(fmt.decode(ours)), nan)
        assert np.array_equal(ours[~nan].astype(np.uint64), ref[~nan].astype(np.uint64)), (name, saturate)


def test_stochastic_rounding_is_seeded_and_unbiased():
    fmt = F.get("int8")
    x = np.full(200_000, 0.25)
    a, b = fmt.encode(x, "stochastic", seed=1), fmt.encode(x, "stochastic", seed=1)
    c = fmt.encode(x, "stochastic", seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    mean = fmt.decode(a).mean()
    assert abs(mean - 0.25) < 5 * np.sqrt(0.25 * 0.75 / x.size)  # 5 sigma of a Bernoulli(0.25) mean


@pytest.mark.parametrize("rounding", ROUNDING_MODES)
def test_int_rounding_modes_against_float64_definitions(rounding):
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(-9, 9, 5000), np.arange(-9, 9) + 0.5])
    q = F.get("int8").decode(F.get("int8").encode(x, rounding))
    expected = {"nearest_even": np.rint(x), "nearest_away": np.sign(x) * np.floor(np.abs(x) + 0.5),
                "toward_zero": np.trunc(x)}.get(rounding)
    if expected is None:
        assert np.all((q == np.floor(x)) | (q == np.ceil(x)))
    else:
        assert np.array_equal(q, expected)
