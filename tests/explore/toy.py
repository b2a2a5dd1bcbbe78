"""A test-local evaluator: closed-form, deterministic figures from the PE string, no accel.pe needed.

PE strings look like ``toy:w=4,a=8`` (weight/activation bits), optionally with ``wf``/``af`` operand
kinds (``int`` or an ExMy name) that set the operand scheme names and an accuracy penalty per model.
Every evaluation can be logged as an empty file in ``log_dir`` (one per call, named
``<kind>-<hash>-<pid>-<n>``) so tests can count calls across processes; ``delay_s`` slows each call and
``stall_after`` hangs every performance call after the first N, so a test can kill a sweep midway at a
known point.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cost_models.explore.records import AccuracyResult, ArithConfig, OpPerf, PerfResult, Point

_counter = itertools.count()


def toy_params(pe: str) -> dict[str, str]:
    name, _, args = pe.partition(":")
    return dict(kv.split("=") for kv in args.split(",") if kv)


def toy_bits(pe: str) -> tuple[int, int]:
    params = toy_params(pe)
    return int(params.get("w", 8)), int(params.get("a", 8))


def toy_schemes(pe: str) -> tuple[str, str]:
    """Operand scheme names from ``wf``/``af`` (e.g. ``int``, ``e2m1``): ``<wf><bits>_per_channel``."""
    params, (w, a) = toy_params(pe), toy_bits(pe)

    def name(kind: str | None, bits: int) -> str:
        if kind is None:
            return ""
        return f"{kind}{bits}_per_channel" if kind == "int" else f"{kind}_per_channel"
    return name(params.get("wf"), w), name(params.get("af"), a)


def kind_penalty(model: str, pe: str) -> float:
    """Model ``toy-mf`` penalises integer operands, every other model penalises float ones (0.5 each)."""
    bad = "int" if model == "toy-mf" else "e"
    return 0.5 * sum(s.startswith(bad) for s in toy_schemes(pe))


@dataclass(frozen=True)
class ToyEvaluator:
    log_dir: str | None = None
    delay_s: float = 0.0
    fail_pe: str | None = None
    stall_after: int | None = None  # once this many performance calls are logged, further calls hang
    canonical_pe: ClassVar = None  # PE strings are kept as written (no accel.pe)
    models: ClassVar = None  # any model name (``toy``, ``toy-mf``, ``*-shapes``)

    def _log(self, kind: str, key: str) -> None:
        if self.stall_after is not None and kind == "performance":
            while sum(p.name.startswith("performance-") for p in Path(self.log_dir).iterdir()) >= self.stall_after:
                time.sleep(0.05)  # hang until the test kills the sweep
        if self.log_dir:
            Path(self.log_dir, f"{kind}-{key}-{os.getpid()}-{next(_counter)}").touch()
        if self.delay_s:
            time.sleep(self.delay_s)

    def accuracy(self, arith: ArithConfig) -> AccuracyResult:
        self._log("accuracy", arith.key)
        if arith.model.endswith("-shapes"):  # shape-only model: no weights, no accuracy
            return AccuracyResult("none", math.nan, math.nan)
        w, a = toy_bits(arith.pe)
        ref = 10.0
        loss = 2.0 ** -w + 2.0 ** -a + kind_penalty(arith.model, arith.pe)
        loss += 0.02 * (arith.attention == "pe") * (1 + 9 * arith.pe.startswith("lmul"))
        if arith.kv_cache_format:  # a 4-bit-significand cache costs more unless its key channels are sorted
            loss += 0.001 if "16" in arith.kv_cache_format or arith.kv_sort_k_channels else 0.05
        n = arith.accuracy_windows
        se = 0.01 / math.sqrt(n) if n > 1 else math.nan
        half = 2 * se if n > 1 else math.nan
        return AccuracyResult("perplexity", ref * (1 + loss), ref, windows=n, tokens=arith.accuracy_tokens,
                              value_stderr=ref * se, loss_stderr=se, score="half",
                              tokens_scored=n * (arith.accuracy_tokens // 2 - 1), loss_low=loss - half,
                              loss_high=loss + half, kld=loss / 10, kld_low=loss / 20, kld_high=loss / 5,
                              top1=1 - loss, top1_low=1 - 2 * loss, top1_high=1.0, delta_nll=math.log1p(loss),
                              delta_nll_low=math.log1p(loss - half),
                              delta_nll_high=math.log1p(loss + half),
                              per_window=tuple(math.log(ref * (1 + loss)) for _ in range(n)),
                              reference_per_window=tuple(math.log(ref) for _ in range(n)),
                              routes="PE, toy weights: 7 tensors")

    def performance(self, point: Point) -> PerfResult:
        self._log("performance", point.key)
        if self.fail_pe and point.pe == self.fail_pe:
            raise ValueError(f"toy failure for {point.pe!r}")
        w, a = toy_bits(point.pe)
        pes = point.array_rows * point.array_cols
        ops = []
        for phase, m in (("prefill", point.workload.prefill_tokens), ("decode", 1)):
            macs = m * 256 * 256
            dram = 256 * 256 * w + m * 256 * (a + 16)
            compute = macs / pes
            memory = dram / 8 / point.dram_bandwidth_bytes_per_cycle
            ops.append(OpPerf(phase, "fc", macs, dram, math.ceil(max(compute, memory)) + point.array_rows,
                              compute, memory))
        cycles = sum(o.cycles for o in ops)
        compute = sum(math.ceil(o.compute_bound_cycles) for o in ops)
        mem_stall = sum(max(0, math.ceil(o.memory_bound_cycles - o.compute_bound_cycles)) for o in ops)
        macs = sum(o.macs for o in ops)
        return PerfResult(cycles=cycles, prefill_cycles=ops[0].cycles, decode_cycles=ops[1].cycles,
                          compute_cycles=compute, fill_drain_cycles=2 * point.array_rows,
                          memory_stall_cycles=mem_stall, dequant_stall_cycles=0,
                          utilization=macs / (cycles * pes), macs=macs, dram_bits=sum(o.dram_bits for o in ops),
                          tokens=point.workload.prefill_tokens + 1, energy_pj=macs * w * a * 0.01 + cycles * pes * 1e-3,
                          area_um2=pes * w * a * 10.0, fpga_luts=pes * (w * a) / 2, peak_macs_per_cycle=pes,
                          cost_source="toy", ops=tuple(ops), weight_scheme=toy_schemes(point.pe)[0],
                          act_scheme=toy_schemes(point.pe)[1], weight_bits=w, act_bits=a)
