"""Hypothesis properties of every element format: round trip, monotonic encode, saturation, nearest."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import accel.formats as F
from accel.formats.rounding import ROUNDING_MODES
from accel.quant import QTensor, quantize

pytestmark = pytest.mark.property

SMALL = [n for n in F.names() if isinstance(F.get(n), (F.FloatFormat, F.IntFormat)) and F.get(n).bits <= 8]
SIGNED_FLOATS = [n for n in SMALL if isinstance(F.get(n), F.FloatFormat) and F.get(n).signed]
element_names = st.sampled_from(SMALL + ["fp16", "bf16"])
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(element_names, st.data(), st.sampled_from(ROUNDING_MODES))
def test_representable_values_round_trip(name, data, rounding):
    fmt = F.get(name)
    code = data.draw(st.integers(0, 2**fmt.bits - 1))
    value = fmt.decode(np.array([code]))
    if np.isnan(value).any():
        return
    assert fmt.encode(value, rounding, saturate=None if fmt.has_inf else True).tolist() == [code]


def _finite_values(fmt):
    v = fmt.decode(fmt.codes())
    return v[np.isfinite(v)]


@SETTINGS
@given(st.sampled_from(SMALL), finite, finite)
def test_encode_is_monotonic(name, a, b):
    fmt = F.get(name)
    if not fmt.signed:
        a, b = abs(a) or 1.0, abs(b) or 1.0
    lo, hi = sorted([a, b])
    vlo, vhi = fmt.decode(fmt.encode([lo, hi], saturate=True))
    assert vlo <= vhi


@SETTINGS
@given(st.sampled_from(SIGNED_FLOATS + [n for n in SMALL if n.startswith("int")]), finite)
def test_saturation_clamps_to_max(name, x):
    fmt = F.get(name)
    # two's complement reaches -2^(b-1); sign-magnitude floats are symmetric
    lo = -(2.0 ** (fmt.bits - 1)) if isinstance(fmt, F.IntFormat) else -fmt.max
    (v,) = fmt.decode(fmt.encode([x], saturate=True))
    assert lo <= v <= fmt.max
    if x >= fmt.max:
        assert v == fmt.max
    if x <= lo:
        assert v == lo


@SETTINGS
@given(st.sampled_from(SIGNED_FLOATS), finite)
def test_in_range_rounding_modes(name, x):
    """Both nearest modes pick a nearest value (by enumeration of every value); toward zero never grows."""
    fmt = F.get(name)
    if abs(x) > fmt.max:
        return
    nearest = np.min(np.abs(_finite_values(fmt) - x))
    ne, na, tz = (fmt.decode(fmt.encode([x], r))[0] for r in ("nearest_even", "nearest_away", "toward_zero"))
    assert abs(ne - x) == nearest and abs(na - x) == nearest
    assert abs(tz) <= abs(x)


schemes = st.sampled_from(["int4_g32", "int8_g16", "uint4_g32_asym", "int8_per_channel", "mxfp4",
                           "mxfp8_e4m3", "bfp12_b16", "e2m1_g16", "q4_0", "q4_1", "q8_0"])


@SETTINGS
@given(schemes, st.integers(1, 3), st.integers(1, 3), st.data())
def test_quantize_bytes_round_trip_and_shapes(name, rows, groups, data):
    fmt = F.get(name)
    g = fmt.group_size or 8
    x = data.draw(hnp.arrays(np.float32, (rows, groups * g), elements=st.floats(-1e4, 1e4, width=32)))
    q = quantize(x, name)
    assert q.codes.shape == x.shape and q.scales.shape == (rows, (groups * g) // (fmt.group_size or groups * g))
    back = QTensor.from_bytes(q.to_bytes(), name, x.shape)
    assert np.array_equal(back.dequantize(), q.dequantize())
    assert np.all(np.isfinite(q.dequantize()))
