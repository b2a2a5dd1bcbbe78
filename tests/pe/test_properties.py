"""Hypothesis properties: spec strings round-trip; the integer stage equals int64 arithmetic on any data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accel.pe as pe
from accel.pe.shiftadd import shift_add_mul
from tests.pe.oracles import scalar_group_acc

pytestmark = pytest.mark.property

specs = st.one_of(
    st.builds(lambda g, f, a, o, b: pe.get("mixpe_w4a8", group_size=32 if f.startswith("q4") else g, weight_format=f,
                                           acc_bits=a, overflow=o, act_bits=b),
              st.sampled_from([1, 2, 8, 16, 64, 128]), st.sampled_from(["int4", "uint4", "q4_0", "q4_1"]),
              st.one_of(st.none(), st.integers(8, 40)), st.sampled_from(["wrap", "saturate"]), st.integers(4, 8)),
    st.builds(lambda a, w, b, g: pe.get("int8_mac", act_bits=a, weight_bits=w, acc_bits=b, group_size=g,
                                        dequant="per_output" if g is None else "per_group"),
              st.integers(2, 8), st.integers(2, 8), st.integers(16, 48), st.one_of(st.none(), st.integers(1, 4096))),
    st.builds(lambda g, f, d: pe.get("mixpe_w4a16", group_size=32 if f.startswith("q4") else g, weight_format=f,
                                     dequant=d),
              st.integers(1, 512), st.sampled_from(["int4", "uint4", "q4_0", "q4_1"]),
              st.sampled_from(["per_group", "in_loop"])),
    st.builds(lambda f, acc: pe.get("minifloat_mac", act_format=f, weight_format="float8_e4m3fn", accumulate=acc),
              st.sampled_from(["float8_e4m3fn", "e5m2", "float4_e2m1fn", "int8"]),
              st.sampled_from(["fp32", "kulisch"])),
)


@given(specs)
@settings(max_examples=60, deadline=None)
def test_to_string_round_trips(spec):
    assert pe.parse(spec.to_string()) == spec
    assert pe.parse({"name": spec.name, **spec.params()}) == spec


@given(st.integers(2, 8), st.booleans(), st.lists(st.integers(-128, 127), min_size=1, max_size=50), st.data())
@settings(max_examples=50, deadline=None)
def test_shift_add_any_width(w_bits, signed, a, data):
    lo, hi = (-(2 ** (w_bits - 1)), 2 ** (w_bits - 1) - 1) if signed else (0, 2**w_bits - 1)
    w = data.draw(st.lists(st.integers(lo, hi), min_size=len(a), max_size=len(a)))
    assert np.array_equal(shift_add_mul(np.array(a), np.array(w), w_bits, signed), np.array(a) * np.array(w))


@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 6), st.sampled_from([1, 4, 8]), st.integers(0, 2**31),
       st.sampled_from(["int4", "uint4"]), st.one_of(st.none(), st.integers(9, 14)),
       st.sampled_from(["saturate", "wrap"]))
@settings(max_examples=40, deadline=None)
def test_w4a8_integer_stage_equals_int64(m, j, n, g, seed, fmt, acc_bits, overflow):
    rng = np.random.default_rng(seed)
    k = j * g
    A = rng.standard_t(2, (m, k))
    W = rng.standard_normal((k, n))
    spec = pe.get("mixpe_w4a8", group_size=g, weight_format=fmt, acc_bits=acc_bits, overflow=overflow)
    parts = spec.integer_parts(A, W)
    qa, q = parts["qa"], parts["weights"].codes
    bits = spec.group_acc_bits
    ref, events = scalar_group_acc(qa, q, g, bits, overflow)  # Python integers, k by k
    assert np.array_equal(parts["P"], ref) and parts["overflows"] == events
    if events == 0:
        assert np.array_equal(parts["P"], np.einsum("mjg,jgn->jmn", qa.reshape(m, j, g), q.reshape(j, g, n)))
    y, act = spec.gemm(A, W)
    assert act.get(f"acc_overflow:{bits}", 0) == events
