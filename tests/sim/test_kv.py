"""KV-cache traffic: written by the K/V projections, read by attention, in the cache's format."""

import dataclasses

import pytest

import sim
from accel.design import BufferSpec, MemorySpec
from accel.errors import ConfigError
from tests.sim.helpers import FakePE, design
from workloads.shapes import MODELS, shape_trace
from workloads.trace import GemmOp, Trace

pytestmark = pytest.mark.unit

def _decode(kv_format, context=2048, batch=1, memory=None):
    d = design(FakePE(), 32, 32, "ws", memory=memory).replace(kv_cache_format=kv_format)
    return sim.simulate(shape_trace("smollm2-135m", phase="decode", tokens=context, batch=batch), d)


def _smollm2_cache_elements(context, batch):
    """K and V read by one decode step (every layer, KV head, position incl. the new one) + the new K, V written."""
    s = MODELS["smollm2-135m"]
    kv_width = s.n_kv_heads * s.head_dim
    return batch * s.n_layers * 2 * kv_width * (context + 1 + 1)


@pytest.mark.parametrize("fmt, bits", [("fp16", 16), ("int8", 8), ("bfp16_b32", 8 + 8 / 32), ("bfp12_b32", 4 + 8 / 32),
                                       ("bfp12_b128", 4 + 8 / 128)])
def test_kv_dram_bits_are_the_cache_elements_at_the_format_width(fmt, bits):
    r = _decode(fmt)
    assert r.dram_bits_by_operand["kv"] == _smollm2_cache_elements(2048, 1) * bits


def test_fp16_over_bfp12_is_exactly_16_over_4_25_and_weights_do_not_move():
    fp16, bfp12 = _decode("fp16"), _decode("bfp12_b32")
    assert fp16.dram_bits_by_operand["kv"] * 4.25 == bfp12.dram_bits_by_operand["kv"] * 16
    for k in ("weight", "input"):
        assert fp16.dram_bits_by_operand[k] == bfp12.dram_bits_by_operand[k]
    assert bfp12.cycles < fp16.cycles


def test_without_a_kv_format_the_cache_is_stored_like_activations():
    assert _decode(None).dram_bits_by_operand["kv"] == _decode("int8").dram_bits_by_operand["kv"]  # FakePE: 8-bit


def test_a_cache_that_fits_half_the_weight_buffer_never_touches_dram():
    op = [GemmOp(0, "attn_k", "decode", 1, 64, 64, weight_ref="0.attn_k"),
          GemmOp(0, "attn_qk", "decode", 1, 100, 64), GemmOp(0, "attn_pv", "decode", 1, 64, 100)]
    bits = 2 * 100 * 64 * 16
    roomy = design(FakePE(), 16, 16, "ws").replace(kv_cache_format="fp16")
    tight = design(FakePE(), 16, 16, "ws", memory=dataclasses.replace(MemorySpec(),
                                                                      weight_buffer=BufferSpec(2 * bits - 2)))
    tight = tight.replace(kv_cache_format="fp16")
    assert sim.simulate(Trace("t", op), roomy).dram_bits_by_operand["kv"] == 0
    assert sim.simulate(Trace("t", op), tight).dram_bits_by_operand["kv"] == bits + 64 * 16


def test_each_sequence_has_its_own_cache_and_shares_the_weights():
    one, many = _decode("fp16", 512, 1), _decode("fp16", 512, 8)
    assert many.dram_bits_by_operand["kv"] == 8 * one.dram_bits_by_operand["kv"]
    assert many.dram_bits_by_operand["weight"] == one.dram_bits_by_operand["weight"]


def test_an_unknown_kv_format_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"^kv_cache_format: unknown format 'bfp13'; valid choices: int2, "
                                          r".*bfp12_b32"):
        _decode("bfp13", 16)


def test_decoders_report_time_to_first_token_and_per_output_token():
    d = design(FakePE(), 16, 16, "ws")
    pre, dec = (shape_trace("smollm2-135m", phase=p, tokens=32) for p in ("prefill", "decode"))
    both = sim.simulate(Trace("smollm2-135m", pre.ops + dec.ops), d)
    lat = both.latency
    want = {p: sum(o.cycles * o.count for o in both.ops if o.phase == p) for p in ("prefill", "decode")}
    assert lat["time_to_first_token"]["cycles"] == want["prefill"] == sim.simulate(pre, d).cycles
    assert lat["time_per_output_token"]["cycles"] == want["decode"] == sim.simulate(dec, d).cycles
    assert lat["time_per_output_token"]["ms"] == want["decode"] / (d.array.freq_mhz * 1e3)
    assert sim.simulate((4, 16, 64), d).latency is None  # not a decoder
    assert sim.simulate(shape_trace("vit-b16"), design(FakePE(group_size=None, dequant="per_output"), 64, 64,
                                                       "ws"), force=True).latency is None
