"""The real evaluation stage: workloads accuracy, ``sim.simulate`` and ``cost_models.evaluate``.

- Accuracy (once per :class:`ArithConfig`): perplexity of the real model's forward pass with every
  weight product through the PE's golden model (``workloads.providers.PEProvider``; attention products
  in float64 unless the point's ``attention`` is ``pe``, or ``pe_only``: attention through the PE and
  weight products exact; SmolLM2's Q8_0 LM head on the float64
  reference under PEs that take its stored Q4_1 blocks), over consecutive windows of the evaluation
  text (llama.cpp's protocol, second half of each window scored), paired with the cached float64
  reference on the same tokens (``workloads.accuracy``).  MiniLM: cosine similarity over 256
  sentences.  Shape-only models (no weights) have no accuracy: the metric is ``none`` (NaN).
- Performance (once per :class:`Point`): the GEMMs of a prefill over ``prefill_tokens`` tokens and of
  ``decode_tokens`` decode steps after it, from the model's published shapes
  (``workloads.shapes.shape_trace``, same shapes as the real run; an encoder without a shape entry,
  MiniLM, uses the shapes of one captured reference forward pass, ``workloads.models.real_trace``),
  simulated in cycle mode on the point's design, then priced by the cost models (45 nm Horowitz table
  by default).  Energy per token divides by batch x (prefill + decode tokens).
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

from cost_models.explore import fpga
from cost_models.explore.records import AccuracyResult, ArithConfig, OpPerf, PerfResult, Point
from cost_models.explore.uncertainty import cosine_result, decoder_result

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _trace(model: str, phases: tuple[str, ...], prefill_tokens: int, decode_tokens: int, batch: int = 1):
    from workloads.models import REAL_MODELS, real_trace
    from workloads.shapes import MODELS, shape_trace
    from workloads.trace import Trace

    if model not in MODELS and REAL_MODELS.get(model) == "encoder":
        # no published shape entry: the GEMMs of one real forward pass over the window (prefill only)
        if "decode" in phases:
            from accel.errors import ConfigError

            raise ConfigError(f"{model!r} is an encoder: phases must be ['prefill'], got {list(phases)!r}")
        if batch != 1:
            from accel.errors import ConfigError

            raise ConfigError(f"{model!r}: batch must be 1 for a captured encoder trace, got {batch!r}")
        return real_trace(model, phase="prefill", tokens=prefill_tokens, keep_tensors=False)
    ops = []
    if "prefill" in phases:
        ops += shape_trace(model, phase="prefill", tokens=prefill_tokens, batch=batch).ops
    if "decode" in phases:
        for step in range(decode_tokens):
            ops += shape_trace(model, phase="decode", tokens=prefill_tokens + step, batch=batch).ops
    return Trace(model=model, ops=ops, meta={"phases": phases, "prefill_tokens": prefill_tokens,
                                             "decode_tokens": decode_tokens, "batch": batch})


def _tokens(point: Point) -> int:
    w = point.workload
    per_sequence = (w.prefill_tokens if "prefill" in w.phases else 0) + (w.decode_tokens if "decode" in w.phases else 0)
    return w.batch * per_sequence


def _model_files(model: str) -> str:
    """JSON ``{file: SHA-256}`` of a real model's files, each checked against its pinned hash now."""
    import json

    from workloads import fetch

    return json.dumps(fetch.verify(model), sort_keys=True)


@dataclass(frozen=True)
class ChainEvaluator:
    """workloads accuracy + sim.simulate (cycle mode) + cost_models.evaluate."""

    cost_table: str = "horowitz45"
    fpga_target: str = "xc7"
    skip_accuracy: bool = False  # performance only: every accuracy is "none" (NaN)

    @staticmethod
    def canonical_pe(text: str) -> str:
        from accel import pe

        return pe.parse(text).to_string()

    def accuracy(self, arith: ArithConfig) -> AccuracyResult:
        from accel import pe
        from workloads import accuracy
        from workloads import providers as prov
        from workloads.models import REAL_MODELS, load_model

        if self.skip_accuracy or arith.model not in REAL_MODELS:
            return AccuracyResult("none", math.nan, math.nan)
        spec = pe.parse(arith.pe)
        model = load_model(arith.model)
        kind = REAL_MODELS[arith.model]
        provider = prov.PEProvider(spec, attention=arith.attention)
        if kind == "encoder":
            res = accuracy.embedding_similarity(model, provider=provider)
            return cosine_result(res["per_sentence"], res["cosine_similarity_ci95"], provider.routes,
                                 model_files=_model_files(arith.model))
        res = accuracy.perplexity(model, provider=provider, tokens=arith.accuracy_tokens,
                                  n_windows=arith.accuracy_windows, kv_format=arith.kv_cache_format,
                                  sort_k_channels=arith.kv_sort_k_channels, kv_keys_only=arith.kv_keys_only,
                                  query_format=arith.query_format)
        out = decoder_result(res, provider.routes, model_files=_model_files(arith.model))
        log.info("%s: perplexity %.4f (reference %.4f), KLD %.5f", arith.pe, out.value, out.reference, out.kld)
        return out

    def performance(self, point: Point) -> PerfResult:
        import cost_models
        import sim
        from accel import pe
        from sim.bounds import binding

        spec = pe.parse(point.pe)
        design, fpga_fields = fpga.clocked(point, point.to_design(spec))  # an FPGA point: at its predicted Fmax
        w = point.workload
        trace = _trace(w.model, w.phases, w.prefill_tokens, w.decode_tokens, w.batch)
        result = sim.simulate(trace, design)
        fpga_target = fpga.lut_target(point, self.fpga_target)
        cost = cost_models.evaluate(design, result, table=self.cost_table, fpga_target=fpga_target)
        fpga_fields.update(fpga.fit(point, design, cost))
        by_phase = {"prefill": 0, "decode": 0}
        ops = []
        for o in result.ops:
            by_phase[o.phase] += o.cycles * o.count
            ops.append(OpPerf(phase=o.phase, name=o.name, macs=o.macs, dram_bits=int(sum(o.dram_bits.values())),
                              cycles=o.cycles, compute_bound_cycles=float(o.roofline_compute_cycles),
                              memory_bound_cycles=float(o.roofline_memory_cycles),
                              bound=binding(o.limits) if o.limits else "",
                              bound_cycles=max(o.limits.values()) if o.limits else math.nan))
        tokens = _tokens(point)
        per_token = {f"energy_{k}_pj_per_token": v / max(tokens, 1) for k, v in cost.energy_components_pj.items()}
        ms_per_cycle = 1 / (design.array.freq_mhz * 1e3)
        decoder = result.decoder
        latency = {"ttft_ms": by_phase["prefill"] * ms_per_cycle if decoder and by_phase["prefill"] else math.nan,
                   "tpot_ms": (by_phase["decode"] / w.decode_tokens * ms_per_cycle
                               if decoder and by_phase["decode"] and w.decode_tokens else math.nan)}
        prov = cost.provenance
        sources = sorted({item.source for item in cost.energy_breakdown_pj.values()})
        source = (f"{prov.get('table', self.cost_table)} table at {prov.get('node_nm', '?')} nm; "
                  f"FPGA {point.fpga_device or fpga_target}; " + "; ".join(sources))
        return PerfResult(cycles=result.cycles, prefill_cycles=by_phase["prefill"], decode_cycles=by_phase["decode"],
                          compute_cycles=result.compute_cycles, fill_drain_cycles=result.fill_drain_cycles,
                          memory_stall_cycles=result.memory_stall_cycles,
                          dequant_stall_cycles=result.dequant_stall_cycles, utilization=float(result.utilization),
                          macs=result.macs, dram_bits=result.dram_bits, tokens=tokens,
                          energy_pj=float(cost.energy_pj), area_um2=float(cost.area_um2),
                          fpga_luts=fpga_fields.pop("fpga_luts", float(cost.fpga_luts)),
                          peak_macs_per_cycle=float(result.peak_macs_per_cycle),
                          cost_source=source, weight_scheme=str(spec.weight_scheme), act_scheme=str(spec.act_scheme),
                          weight_bits=int(spec.weight_bits), act_bits=int(spec.act_bits), **per_token, **latency,
                          ops=tuple(ops), **fpga_fields)
