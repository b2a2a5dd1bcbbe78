"""SimResult contents: breakdown, traffic, activity, functional outputs, per-op table, JSON."""

import json

import numpy as np
import pytest

import sim
from accel import pe as pe_mod
from accel.activity import Activity
from accel.cliutil import to_jsonable
from accel.errors import ConfigError, TraceError
from tests.sim.helpers import FakePE, design
from workloads.trace import GemmOp, Trace

pytestmark = pytest.mark.unit


def _trace(rng, with_operands=True):
    def op(layer, name, m, n, k, count=1, act_w=False):
        a = rng.standard_normal((m, k)) if with_operands else None
        w = rng.standard_normal((k, n)) if with_operands and act_w else None
        return GemmOp(layer, name, "prefill", m, n, k, weight_ref=None if act_w else f"{layer}.{name}", a=a, w=w,
                      count=count)

    return Trace("toy", [op(0, "attn_q", 8, 64, 64), op(0, "attn_qk", 8, 8, 32, count=2, act_w=True),
                         op(0, "ffn_up", 8, 128, 64), op(1, "attn_q", 8, 64, 64)])


def test_breakdown_sums_and_totals_count_instances():
    tr = _trace(np.random.default_rng(0), with_operands=False)
    r = sim.simulate(tr, design(FakePE(), 16, 16, "ws"))
    for o in r.ops:
        assert o.cycles == o.compute_cycles + o.fill_drain_cycles + o.memory_stall_cycles + o.dequant_stall_cycles
    assert r.cycles == sum(o.cycles * o.count for o in r.ops)
    assert r.cycles == r.compute_cycles + r.fill_drain_cycles + r.stall_cycles
    assert r.macs == tr.macs
    assert r.utilization == pytest.approx(tr.macs / (r.cycles * 256))
    assert r.ops[0].cycles == r.ops[3].cycles  # identical shapes, identical timing


def test_traffic_by_operand_follows_the_tiling_policy():
    """Decode GEMM on 16x16 WS: every weight once (with scale bits), the activation once, outputs once."""
    pe = FakePE(weight_storage_bits=4.5, act_storage_bits=8, out_bits=32)
    r = sim.simulate((1, 64, 128), design(pe, 16, 16, "ws"))
    assert r.dram_bits_by_operand == {"weight": 128 * 64 * 4.5, "input": 128 * 8, "output": 64 * 32, "kv": 0}
    # SRAM: each fold reads its 16x16 weight tile and its 1x16 activation slice; partial sums of the
    # 8 k-tiles per column block are written once and read+written 7 times
    assert r.sram_bits_by_operand == {"weight": 128 * 64 * 4.5, "input": 4 * 128 * 8,
                                      "output": 4 * (1 + 2 * 7) * 16 * 32, "kv": 0}


def test_activation_operands_are_sized_as_activations():
    pe = FakePE(weight_storage_bits=4.5, act_storage_bits=16)
    op = GemmOp(0, "attn_qk", "prefill", 1, 32, 64, weight_ref=None)
    r = sim.simulate(Trace("t", [op]), design(pe, 16, 16, "ws"))
    assert r.sram_bits_by_operand["weight"] == 32 * 64 * 16
    assert r.dram_bits_by_operand["weight"] == r.dram_bits_by_operand["kv"] == 0  # the 32 Kbit cache stays on chip
    assert r.dequant_stall_cycles == 0


def test_activity_comes_from_the_pe_spec():
    spec = pe_mod.parse("mixpe_w4a8:group_size=32")
    tr = _trace(np.random.default_rng(1), with_operands=False)
    r = sim.simulate(tr, design(spec, 16, 16, "ws"))
    expected = Activity()
    for op in tr.ops:
        expected.update(spec.activity_for(op.m, op.n, op.k).scaled(op.count))
    assert r.activity == expected and len(expected) > 0


@pytest.mark.parametrize("name", ["mixpe_w4a8:group_size=32", "int8_mac", "fp16_dequant_first:group_size=32"])
def test_functional_outputs_are_the_golden_models_bits(name):
    spec = pe_mod.parse(name)
    rng = np.random.default_rng(2)
    A, W = rng.standard_normal((8, 64)), rng.standard_normal((64, 24))
    r = sim.simulate((A, W), design(spec, 8, 8, "os"), functional=True)
    golden, act = spec.gemm(A, W)
    assert r.outputs[0].dtype == np.float64
    assert np.array_equal(r.outputs[0].view(np.uint64), np.asarray(golden, np.float64).view(np.uint64))
    assert r.activity == act


def test_functional_trace_uses_weights_given_by_reference():
    spec = pe_mod.parse("mixpe_w4a8:group_size=32")
    rng = np.random.default_rng(3)
    tr = _trace(rng)
    weights = {op.weight_ref: rng.standard_normal((op.k, op.n)) for op in tr.ops if op.weight_ref}
    r = sim.simulate(tr, design(spec, 16, 16, "ws"), functional=True, weights=weights)
    r_pe = sim.simulate(tr, design(spec, 16, 16, "ws"), functional=True, weights=weights, attention="pe")
    for op, out, out_pe in zip(tr.ops, r.outputs, r_pe.outputs, strict=True):
        w = op.w if op.w is not None else weights[op.weight_ref]
        assert np.array_equal(out_pe, spec.gemm(op.a, w)[0])
        # attention products (two activations) default to float64, as workloads' PEProvider does
        assert np.array_equal(out, op.a @ w if op.w is not None else spec.gemm(op.a, w)[0])
    no_weights = sim.simulate(tr, design(spec, 16, 16, "ws"), functional=True)
    assert no_weights.outputs[0] is None and no_weights.outputs[1] is not None
    with pytest.raises(ConfigError, match=r"^attention must be one of reference, pe, got 'x'$"):
        sim.simulate(tr, design(spec, 16, 16, "ws"), attention="x")
    with pytest.raises(TraceError, match=r"^no weight '0\.attn_q' in the weights given to simulate\(\)"):
        sim.simulate(tr, design(spec, 16, 16, "ws"), functional=True, weights={})


def test_per_op_table_and_json():
    tr = _trace(np.random.default_rng(4), with_operands=False)
    r = sim.simulate(tr, design(FakePE(), 16, 16, "ws"))
    df = r.per_op
    assert list(df["name"]) == ["attn_q", "attn_qk", "ffn_up", "attn_q"]
    assert (df["cycles"] * df["count"]).sum() == r.cycles
    assert set(df["bound"]) <= {"compute", "weight_load", "sram", "dram", "dequant"}
    d = json.loads(json.dumps(to_jsonable(r.to_dict())))
    for key in ("cycles", "compute_cycles", "stall_cycles", "utilization", "dram_bits", "per_op",
                "fill_drain_cycles", "memory_stall_cycles", "dequant_stall_cycles", "roofline", "activity",
                "dram_bits_by_operand", "sram_bits_by_operand"):
        assert key in d
    assert len(d["per_op"]) == 4 and d["cycles"] == r.cycles


@pytest.mark.parametrize("bad,msg", [("12,3", r"^a GEMM is written M,N,K"), ((0, 1, 1), r"m must be an integer >= 1"),
                                     ({"m": 1}, r"^simulate\(\) takes a Trace")])
def test_bad_workloads(bad, msg):
    with pytest.raises(TraceError, match=msg):
        sim.simulate(bad, design(FakePE()))


def test_deterministic():
    tr = _trace(np.random.default_rng(5), with_operands=False)
    a = sim.simulate(tr, design(FakePE(), 16, 16, "os")).to_dict()
    b = sim.simulate(tr, design(FakePE(), 16, 16, "os")).to_dict()
    for d in (a, b):
        d.pop("wall_seconds"), d.pop("pe_cycles_per_second")
    assert a == b
