"""``sim.simulate``: run a trace or a single GEMM through a design."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable

import numpy as np

from accel import limits
from accel.activity import Activity
from accel.design import Design
from accel.errors import ConfigError, TraceError
from sim.bounds import op_limits
from sim.engine import run_plan
from sim.kv import kv_bits_per_element, kv_on_chip, kv_role
from sim.pe_view import PEView, pe_view
from sim.result import OpResult, SimResult
from sim.scalesim import scalesim_cycles
from sim.tiling import TilingPolicy, fold_count, plan_op
from workloads.trace import GemmOp, Trace

__all__ = ["simulate", "MODES", "as_ops"]

log = logging.getLogger(__name__)

MODES = ("cycle", "scalesim")
LOGITS_OPS = ("lm_head",)  # ops producing next-token logits: the trace is a decoder's
ATTENTION_MODES = ("reference", "pe")


def as_ops(trace_or_gemm) -> list[GemmOp]:
    """Accept a Trace, a GemmOp, (M, N, K), "M,N,K" or (A, W) arrays; return the list of ops."""
    x = trace_or_gemm
    if isinstance(x, Trace):
        ops = list(x.ops)
    elif isinstance(x, GemmOp):
        ops = [x]
    elif isinstance(x, str):
        parts = x.replace(" ", "").split(",")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise TraceError(f"a GEMM is written M,N,K (e.g. 256,1024,1024), got {x!r}")
        m, n, k = (int(p) for p in parts)
        ops = [GemmOp(0, "gemm", "prefill", m, n, k)]
    elif isinstance(x, (tuple, list)) and len(x) == 2 and all(isinstance(a, np.ndarray) for a in x):
        a, w = x
        if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[0]:
            raise TraceError(f"(A, W) must be 2-D with A.shape[1] == W.shape[0], got {a.shape} and {w.shape}")
        ops = [GemmOp(0, "gemm", "prefill", a.shape[0], w.shape[1], a.shape[1], weight_ref="W", a=a, w=w)]
    elif isinstance(x, (tuple, list)) and len(x) == 3:
        ops = [GemmOp(0, "gemm", "prefill", *(int(v) for v in x))]
    else:
        raise TraceError(f"simulate() takes a Trace, a GemmOp, (M, N, K), 'M,N,K' or (A, W); got {type(x).__name__}")
    for op in ops:
        for d in ("m", "n", "k", "count"):
            v = getattr(op, d)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise TraceError(f"op {op.name!r} (layer {op.layer}): {d} must be an integer >= 1, got {v!r}")
    return ops


def _weight(weights, ref: str | None):
    if weights is None or ref is None:
        return None
    if callable(weights):
        return weights(ref)
    if ref not in weights:
        raise TraceError(f"no weight {ref!r} in the weights given to simulate(); it has {len(weights)} tensors")
    return weights[ref]


def _act_view(pe: PEView) -> PEView:
    """The PE as seen by an activation x activation product: no weight groups, act-sized operands."""
    return dataclasses.replace(pe, weight_bits=pe.act_bits, weight_storage_bits=pe.act_storage_bits, group_size=None,
                               dequant="per_output")


def _run_op(op: GemmOp, design: Design, pe: PEView, mode: str, policy: TilingPolicy, role: str | None,
            kv_bits: float, kv_dram: bool):
    """Plan and time one op.  ``role``: how it touches the KV cache (``sim.kv``); reads are sized by the
    view (``weight_storage_bits`` = the cache's width), writes are re-sized here; both leave DRAM alone
    when the cache is on chip (``kv_dram`` False)."""
    plan = plan_op(op.m, op.n, op.k, design, pe, policy)
    if role == "write":
        plan.dram_o = plan.dram_o * (kv_bits / pe.out_bits) if kv_dram else np.zeros_like(plan.dram_o)
    elif role == "read" and not kv_dram:
        plan.dram_w = np.zeros_like(plan.dram_w)
    traffic = {
        "dram": {"weight": plan.dram_w.sum(), "input": plan.dram_a.sum(), "output": plan.dram_o.sum(), "kv": 0},
        "sram": {"weight": plan.sram_w.sum(), "input": plan.sram_a.sum(), "output": plan.sram_o.sum(), "kv": 0},
    }
    moved = {"read": "weight", "write": "output"}.get(role or "")
    if moved:  # the cache's DRAM traffic is reported as its own operand (SRAM traffic stays with its buffer)
        traffic["dram"]["kv"], traffic["dram"][moved] = traffic["dram"][moved], 0
    traffic = {k: {o: int(math.ceil(b)) for o, b in v.items()} for k, v in traffic.items()}
    limits = op_limits(plan, design)
    if mode == "scalesim":
        c = scalesim_cycles(op.m, op.n, op.k, design.array.rows, design.array.cols, design.array.dataflow)
        timing = (c, c, 0, 0, 0, plan.n_folds)
    else:
        t = run_plan(plan, design)
        timing = (t.cycles, t.compute_cycles, t.fill_drain_cycles, t.memory_stall_cycles, t.dequant_stall_cycles,
                  t.folds)
    return timing, traffic, limits


def _check_limits(ops: list[GemmOp], design: Design, pe: PEView, mode: str, policy: TilingPolicy,
                  functional: bool, error: type[ConfigError | TraceError], force: bool | None) -> None:
    """Estimate the memory and time of simulating ``ops`` from their tilings' fold counts, before any runs."""
    folds: dict[tuple, int] = {}
    first: dict[tuple, GemmOp] = {}
    for op in ops:
        key = (op.m, op.n, op.k, op.activation_operand)
        if key in folds:
            continue
        first[key] = op
        try:
            folds[key] = fold_count(op.m, op.n, op.k, design, _act_view(pe) if key[3] else pe, policy)
        except ConfigError as exc:
            raise ConfigError(f"op {op.name!r} (layer {op.layer}, {op.m}x{op.k}->{op.n}): {exc}") from None
    if not folds:
        return
    big = max(folds, key=folds.__getitem__)
    op, a = first[big], design.array
    where = f"{folds[big]:,} folds on a {a.rows}x{a.cols} {a.dataflow} array"
    what = (f"simulating GEMM {op.m}x{op.k}->{op.n} ({where})" if len(ops) == 1 else
            f"simulating {len(ops)} ops ({sum(folds.values()):,} folds; the largest, op {op.name!r} (layer "
            f"{op.layer}, {op.m}x{op.k}->{op.n}), {where})")
    est = limits.simulation(what, folds[big], sum(folds.values()), event_driven=mode == "cycle")
    if functional:  # the outputs are kept
        est = dataclasses.replace(est, bytes=est.bytes + 8.0 * sum(o.m * o.n for o in ops if o.a is not None))
    limits.check(est, error=error, force=force)


def simulate(trace_or_gemm, design: Design, *, functional: bool = False, mode: str = "cycle",
             policy: TilingPolicy | None = None, progress: bool = False, weights=None,
             attention: str = "reference", force: bool | None = True) -> SimResult:
    """Simulate every op in order (each starting with empty buffers) and return a :class:`SimResult`.

    ``mode="cycle"``: the cycle model (array timing + SimPy memory system, stalls enforced);
    ``mode="scalesim"``: SCALE-Sim 3.0.0's stall-free compute cycles (traffic still from the tiling).
    ``functional=True`` computes each op's output through ``design.pe.gemm`` (bit-exact golden model)
    when the op carries its operands; model weights (``op.w is None``) come from ``weights``, a mapping or
    callable from ``op.weight_ref`` to what ``pe.gemm`` takes (float (K, N) array or QTensor along K).
    Products of two activations (attention) are computed in float64 (``attention="reference"``, as
    ``workloads.providers.PEProvider`` does by default) or through the PE (``attention="pe"``).
    Ops with identical shapes share one timing run.

    Before anything runs, the memory and time are estimated (:mod:`accel.limits`): beyond the memory limit
    a ConfigError (TraceError for a Trace) is raised; beyond the time limit too unless ``force`` (the
    command line passes ``--force``; ``None``: time is limited and no ``--force`` exists).
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if attention not in ATTENTION_MODES:
        raise ConfigError(f"attention must be one of {', '.join(ATTENTION_MODES)}, got {attention!r}")
    if not isinstance(design, Design):
        raise ConfigError(f"design must be an accel.design.Design, got {type(design).__name__}")
    pe = pe_view(design.pe)
    policy = policy or TilingPolicy()
    ops = as_ops(trace_or_gemm)
    _check_limits(ops, design, pe, mode, policy, functional,
                  TraceError if isinstance(trace_or_gemm, Trace) else ConfigError, force)
    t0 = time.perf_counter()
    cache: dict[tuple, tuple] = {}
    results = []
    it: Iterable[GemmOp] = ops
    if progress:
        from tqdm import tqdm

        it = tqdm(ops, desc="simulate", unit="op", leave=False, disable=None)
    kv_bits = kv_bits_per_element(design, pe.act_storage_bits)
    kv_dram = not kv_on_chip(ops, design, kv_bits)
    R, C, s = design.array.rows, design.array.cols, pe.macs_per_pe_per_cycle
    bw = float(design.memory.dram_bandwidth_bytes_per_cycle)
    no_operands: list[str] = []
    for op in it:
        act_op = op.activation_operand  # sized and dequantized as an activation
        role = kv_role(op)
        view = _act_view(pe) if act_op else pe
        if role == "read":
            view = dataclasses.replace(view, weight_storage_bits=kv_bits)
        key = (op.m, op.n, op.k, act_op, role)
        if key not in cache:
            try:
                cache[key] = _run_op(op, design, view, mode, policy, role, kv_bits, kv_dram)
            except ConfigError as exc:
                raise ConfigError(f"op {op.name!r} (layer {op.layer}, {op.m}x{op.k}->{op.n}): {exc}") from None
            cache[key] = cache[key] + (design.pe.activity_for(op.m, op.n, op.k),)
        timing, traffic, op_limit_cycles, act = cache[key]
        output = None
        if functional:
            w = op.w if op.w is not None else _weight(weights, op.weight_ref)
            if op.a is not None and w is not None and act_op and attention == "reference":
                output = np.asarray(op.a, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
            elif op.a is not None and w is not None:
                output, _ = design.pe.gemm(np.asarray(op.a, dtype=np.float64), w)
            else:
                no_operands.append(op.name)
        mem_bits = op.k * op.n * view.weight_storage_bits + op.m * op.k * view.act_storage_bits \
            + op.m * op.n * (kv_bits if role == "write" else view.out_bits)
        results.append(OpResult(
            layer=op.layer, name=op.name, phase=op.phase, m=op.m, n=op.n, k=op.k, count=op.count,
            cycles=timing[0], compute_cycles=timing[1], fill_drain_cycles=timing[2],
            memory_stall_cycles=timing[3], dequant_stall_cycles=timing[4], folds=timing[5],
            roofline_compute_cycles=op.m * op.n * op.k / (R * C * s), roofline_memory_cycles=mem_bits / 8 / bw,
            dram_bits=traffic["dram"], sram_bits=traffic["sram"], activity=Activity(act).scaled(op.count),
            output=output, limits=op_limit_cycles))
    if no_operands:
        log.warning("%d op(s) carry no operands (or no weights were given): no functional output for %s%s",
                    len(no_operands), ", ".join(no_operands[:5]), " ..." if len(no_operands) > 5 else "")
    return SimResult(design_name=design.name or pe.name, mode=mode, rows=R, cols=C, macs_per_pe_per_cycle=s,
                     ops=results, wall_seconds=time.perf_counter() - t0, freq_mhz=design.array.freq_mhz,
                     decoder=any(op.name in LOGITS_OPS for op in ops))
