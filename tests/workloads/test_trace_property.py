"""Property: any trace (shapes, phases, dtypes, shared and absent operands) survives save/load bit for bit."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.trace import PHASES, GemmOp, Trace, load_trace, save_trace

pytestmark = pytest.mark.property

DTYPES = (np.float64, np.float32, np.float16, np.int8)


@st.composite
def traces(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    ops = []
    shared = None
    for i in range(draw(st.integers(0, 6))):
        m, n, k = (draw(st.integers(1, 5)) for _ in range(3))
        dtype = draw(st.sampled_from(DTYPES))
        kind = draw(st.sampled_from(["weight", "activation", "shape"]))
        a = w = None
        if kind != "shape":
            if shared is not None and shared.shape == (m, k) and draw(st.booleans()):
                a = shared  # the same array object used by two ops
            else:
                a = (rng.normal(size=(m, k)) * 100).astype(dtype)
                shared = a
            if kind == "activation":
                w = (rng.normal(size=(k, n)) * 100).astype(dtype)
        ops.append(GemmOp(layer=draw(st.integers(-1, 80)), name=draw(st.sampled_from(["attn_q", "attn_qk[h1]", "x"])),
                          phase=draw(st.sampled_from(PHASES)), m=m, n=n, k=k,
                          a_format=draw(st.sampled_from(["fp64", "int8_per_channel_fp32"])),
                          w_format=draw(st.sampled_from(["q4_1", "fp32"])),
                          weight_ref=f"blk.{i}.w" if kind == "weight" else None, a=a, w=w,
                          count=draw(st.integers(1, 64))))
    meta = draw(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.text(max_size=5), max_size=3))
    model = draw(st.text(min_size=1, max_size=10).filter(lambda s: s.strip() and s.isprintable()))
    return Trace(model=model, ops=ops, meta=meta)


@settings(max_examples=40, deadline=None)
@given(traces())
def test_round_trip(tr):
    with tempfile.TemporaryDirectory() as d:
        back = load_trace(save_trace(tr, d))
    assert back.model == tr.model and back.meta == tr.meta and back.ops == tr.ops
    for x, y in zip(tr.ops, back.ops, strict=True):
        for attr in ("a", "w"):
            u, v = getattr(x, attr), getattr(y, attr)
            assert (u is None) == (v is None)
            if u is not None:
                assert u.dtype == v.dtype and u.tobytes() == v.tobytes()
