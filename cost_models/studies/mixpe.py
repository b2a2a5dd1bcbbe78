"""MixPE's claims (2.6x speedup, 1.4x energy reduction; arXiv 2411.16158) like for like, at equal area.

Each MixPE variant is set against the conventional design with the same operand widths (:data:`PAIRS`):
W4A16 against the FP16 dequant-first PE, W4A8 against INT8 (W8A8), and both against a W16A16 FP16 MAC.
Two settings are kept apart (:data:`SETTINGS`): the paper's (LLaMA-2-13B / OPT-6.7B layers as batched FC
layers, batch 64: one token per sequence, M = 64, after a 128-token context; group 128; the authors' memory
system: 500 MHz, 128/256/128 KiB buffers, 1024 bit/cycle) and SmolLM2-135M single-stream (its stored Q4_1
weights, group 32, prefill of 64 tokens and 4 decode steps, 64 bytes/cycle).

Iso-area: the baseline runs on the setting's array; the MixPE design gets the largest square array whose area
fits the baseline's, solved once on the whole design and once on the compute logic alone (PEs + dequant
units, buffers excluded; both designs have the same buffers, so the two budgets give the same array).  The
array with the most PEs (any R x C with rows and columns within a factor of 2) is shown beside it: its
cycles depend on how the tiling maps K and N onto an oblong array (e.g. 60x30 runs LLaMA-2-13B's FFN slower
than 32x32), so the verdict uses the square one.  The MixPE dequant unit is priced as its
synthesised RTL says (:func:`synthesised_dequant`, ``rtl/reports/synth_table.json``).  Every op of a layer
repeats in each block, so the trace is simulated with identical ops folded into one (``count``).

The conventional W4A8 design (INT8 activations, INT4 weights dequantized before an INT8 MAC) is not a PE of
``accel.pe`` yet: its rows say "not measured".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

from accel.errors import ConfigError
from cost_models.studies.verdict import ClaimRecord, not_measured, ratio_verdict

SOURCE = "MixPE (arXiv 2411.16158)"
PAPER = {"speedup": 2.6, "energy_reduction": 1.4}
MAX_DIM = 4096
#: Iso-area arrays keep rows and columns within this factor of each other.
MAX_ASPECT = 2.0
#: The synthesised MixPE dequant unit (``rtl.synth.table``): label of its row in the synthesis table.
DEQUANT_RTL_PE = "mixpe_w4a8:weight_format=q4_1"


@dataclass(frozen=True)
class Setting:
    """A workload and memory system the pairs are compared on."""

    name: str
    models: tuple[str, ...]
    batch: int
    prefill_tokens: int
    decode_tokens: int
    group_size: int
    weight_format: str
    dram_bandwidth_bytes_per_cycle: float
    array: tuple[int, int]  # the baseline's array
    kind: str  # what the setting is, e.g. "the paper's setting: published shapes of"
    weights: str  # the weights, in words
    prefill_tokens_run: bool = True  # False: the prefill only sets the context of the decode steps

    def describe(self, model: str) -> str:
        work = (f"prefill of {self.prefill_tokens} tokens + {self.decode_tokens} decode step(s)"
                if self.prefill_tokens_run else
                f"{self.decode_tokens} step(s) of one token per sequence (M = {self.batch}) after a "
                f"{self.prefill_tokens}-token context")
        return (f"{self.kind} {model}: batch {self.batch}, {work}, {self.weights}, 500 MHz, 128/256/128 KiB "
                f"buffers, {self.dram_bandwidth_bytes_per_cycle:g} B/cycle DRAM")


SETTINGS = {s.name: s for s in (
    Setting("paper", ("llama2-13b", "opt-6.7b"), 64, 128, 1, 128, "int4", 128.0, (32, 32),
            "the paper's setting (batched FC layers), published shapes (FC layers and attention) of",
            "INT4 weights in groups of 128", prefill_tokens_run=False),
    Setting("smollm2", ("smollm2-135m",), 1, 64, 4, 32, "q4_1", 64.0, (32, 32), "single-stream",
            "its stored Q4_1 weights (group 32)"),
)}


@dataclass(frozen=True)
class Pair:
    """A MixPE design and its like-for-like conventional baseline (PE spec templates, ``{g}``/``{w}`` filled)."""

    label: str
    mixpe: str
    baseline: str | None  # None: no such PE in accel.pe yet (the row says "not measured")
    why_missing: str = ""


PAIRS = (
    Pair("W4A16 vs FP16 dequant-first (W4A16)", "mixpe_w4a16:group_size={g},weight_format={w}",
         "fp16_dequant_first:group_size={g},weight_format={w}"),
    Pair("W4A8 vs conventional W4A8 (INT4 weights dequantized before an INT8 MAC)",
         "mixpe_w4a8:group_size={g},weight_format={w}", None,
         "accel.pe has no W4A8 dequant-first PE (INT8 activations, INT4 weights dequantized to INT8 before an "
         "INT8 MAC) yet"),
    Pair("W4A8 vs INT8 (W8A8)", "mixpe_w4a8:group_size={g},weight_format={w}", "int8_mac"),
    Pair("W4A16 vs FP16 (W16A16)", "mixpe_w4a16:group_size={g},weight_format={w}",
         "minifloat_mac:act_format=fp16,weight_format=fp16"),
    Pair("W4A8 vs FP16 (W16A16)", "mixpe_w4a8:group_size={g},weight_format={w}",
         "minifloat_mac:act_format=fp16,weight_format=fp16"),
)


# ----- area ------------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def synthesised_dequant(table: str = "horowitz45") -> dict:
    """Area of the synthesised MixPE dequant unit: NAND2-equivalents (generic Yosys target, the table's
    liberty) x the cost table's NAND2 area, with the row it comes from."""
    from cost_models.tables import get_table
    from rtl.synth.results import read_table

    synth = read_table()
    rows = [r for r in synth.rows if r.kind == "dequant" and r.target == "generic" and r.ge]
    row = next((r for r in rows if r.pe == DEQUANT_RTL_PE), None)
    if row is None:
        raise ConfigError(f"the synthesis table has no generic 'dequant' row for {DEQUANT_RTL_PE!r}; rows: "
                          f"{[r.pe for r in rows]!r} (regenerate it: accel rtl table)")
    t = get_table(table)
    nand2 = t.cells["nand2_um2"].value * t.area_scale
    return {"area_um2": row.ge * nand2, "ge": row.ge, "block": row.block, "yosys": synth.yosys_version,
            "nand2_um2": nand2}


@lru_cache(maxsize=64)
def _unit_areas(pe, table: str) -> tuple[float, float, bool]:
    """(PE area, one dequant unit's area, whether the PE has dequant units), um^2."""
    from cost_models.operators import OperatorModel
    from cost_models.pe_cost import pe_hardware
    from cost_models.tables import get_table

    hw = pe_hardware(pe, OperatorModel(get_table(table)))
    per_dq = synthesised_dequant(table)["area_um2"] if is_mixpe(pe) else hw.dequant_area_um2
    return hw.pe_area_um2, per_dq, bool(hw.dequant_units)


def area_split(design, table: str = "horowitz45") -> dict[str, float]:
    """Area (um^2) of ``design`` by part: PEs, dequant units, buffers; and compute logic (PEs + dequant units).

    A MixPE design's dequant units take the synthesised unit's area (:func:`synthesised_dequant`); other
    designs' come from the cost model.
    """
    from cost_models.memory import MemoryModel
    from cost_models.pe_cost import dequant_unit_count
    from cost_models.tables import get_table
    from cost_models.usage import BUFFERS

    pe_area, per_dq, has_dq = _unit_areas(design.pe, table)
    mem = MemoryModel(get_table(table))
    pes = design.array.rows * design.array.cols * pe_area
    dq = dequant_unit_count(design) * per_dq if has_dq else 0.0
    buffers = sum(mem.sram_area_um2(getattr(design.memory, b).capacity_bits) for b in BUFFERS)
    return {"pes": pes, "dequant_units": dq, "buffers": buffers, "logic": pes + dq, "whole": pes + dq + buffers}


def is_mixpe(pe) -> bool:
    return pe.name in ("mixpe_w4a8", "mixpe_w4a16") and pe.dequant == "per_group"


def largest_array(design, budget_um2: float, part: str = "whole", table: str = "horowitz45",
                  max_aspect: float = MAX_ASPECT, max_dim: int = MAX_DIM) -> tuple[int, int]:
    """The R x C array with the most PEs (then the squarest, then more columns) whose ``part`` area
    (``whole`` or ``logic``) fits ``budget_um2``, with rows/cols within ``max_aspect`` of each other (a
    one-column "array" would fit the most PEs when dequant units sit at column edges, and run as a vector).
    Area grows with R at fixed C, so R is found by bisection."""
    if part not in ("whole", "logic"):
        raise ConfigError(f"part must be 'whole' or 'logic', got {part!r}")

    def area(r: int, c: int) -> float:
        return area_split(dataclasses.replace(design, array=dataclasses.replace(design.array, rows=r, cols=c)),
                          table)[part]

    best = None
    for c in range(1, max_dim + 1):
        r_min = max(1, math.ceil(c / max_aspect))
        if area(r_min, c) > budget_um2:
            if c > 1 and area(1, c) > budget_um2:
                break
            continue
        lo, hi = r_min, min(max_dim, math.floor(c * max_aspect))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if area(mid, c) <= budget_um2 else (lo, mid - 1)
        key = (lo * c, -abs(lo - c), c)
        if best is None or key > best[0]:
            best = (key, (lo, c))
    if best is None:
        raise ConfigError(f"no array of {design.pe.to_string()!r} fits {budget_um2!r} um^2 ({part} area)")
    return best[1]


# ----- simulation ------------------------------------------------------------------------------------------
def folded_trace(setting: Setting, model: str):
    """The setting's trace of ``model`` (published shapes) with identical ops folded into one (``count``)."""
    from workloads.shapes import shape_trace
    from workloads.trace import Trace

    ops = []
    if setting.prefill_tokens_run:
        ops += shape_trace(model, phase="prefill", tokens=setting.prefill_tokens, batch=setting.batch).ops
    for step in range(setting.decode_tokens):
        ops += shape_trace(model, phase="decode", tokens=setting.prefill_tokens + step, batch=setting.batch).ops
    folded: dict[tuple, object] = {}
    for o in ops:
        key = (o.phase, o.name, o.m, o.n, o.k, o.a_format, o.w_format, o.weight_ref is None)
        folded[key] = dataclasses.replace(folded[key], count=folded[key].count + o.count) if key in folded else o
    return Trace(model=model, ops=list(folded.values()),
                 meta={"batch": setting.batch, "prefill_tokens": setting.prefill_tokens,
                       "decode_tokens": setting.decode_tokens, "folded": True})


def design_for(setting: Setting, pe_text: str, array: tuple[int, int]):
    from accel import pe as pe_mod
    from accel.design import ArraySpec, Design, MemorySpec

    spec = pe_mod.parse(pe_text.format(g=setting.group_size, w=setting.weight_format))
    mem = dataclasses.replace(MemorySpec(), dram_bandwidth_bytes_per_cycle=setting.dram_bandwidth_bytes_per_cycle)
    return Design(pe=spec, array=ArraySpec(*array), memory=mem)


def run(design, trace, table: str = "horowitz45") -> dict:
    """Cycles and energy of ``design`` on ``trace`` (``sim.simulate`` + ``cost_models.evaluate``)."""
    import sim
    from cost_models.evaluation import evaluate

    res = sim.simulate(trace, design)
    cost = evaluate(design, res, table=table)
    return {"cycles": int(res.cycles), "energy_pj": float(cost.energy_pj), "area": area_split(design, table)}


def _fmt_area(a: dict) -> str:
    return (f"{a['whole'] / 1e6:.3g} mm2 = PEs {a['pes'] / 1e6:.3g} + dequant {a['dequant_units'] / 1e6:.3g} + "
            f"buffers {a['buffers'] / 1e6:.3g}")


def compare(setting: Setting, model: str, pair: Pair, table: str = "horowitz45", cache: dict | None = None) -> dict:
    """Same-array and iso-area (whole design, compute logic) ratios of one pair on one model."""
    cache = {} if cache is None else cache
    trace = folded_trace(setting, model)

    def cached(pe_text: str, array: tuple[int, int]) -> dict:
        key = (setting.name, model, pe_text, array)
        if key not in cache:
            cache[key] = run(design_for(setting, pe_text, array), trace, table)
        return cache[key]

    base = cached(pair.baseline, setting.array)
    mix_design = design_for(setting, pair.mixpe, setting.array)
    out = {"baseline": base, "same": cached(pair.mixpe, setting.array), "iso": {}}
    for name, part, aspect in (("whole", "whole", 1.0), ("logic", "logic", 1.0), ("any", "whole", MAX_ASPECT)):
        arr = largest_array(mix_design, base["area"][part], part, table, max_aspect=aspect)
        out["iso"][name] = {"array": arr, **cached(pair.mixpe, arr)}
    return out


def records(settings=tuple(SETTINGS), pairs=PAIRS, table: str = "horowitz45") -> list[ClaimRecord]:
    """One record per (setting, model, pair, claim): the iso-area ratio judged against the paper's figure."""
    out, cache = [], {}
    dq = synthesised_dequant(table)
    dq_note = (f"MixPE dequant unit priced as synthesised ({dq['block']}: {dq['ge']:,.0f} NAND2-eq x "
               f"{dq['nand2_um2']:.3g} um2 = {dq['area_um2']:,.0f} um2, Yosys {dq['yosys']})")
    for name in settings:
        s = SETTINGS[name]
        for model in s.models:
            where = s.describe(model)
            for pair in pairs:
                for what, metric, paper in (("speedup", "cycles", PAPER["speedup"]),
                                            ("energy reduction", "energy_pj", PAPER["energy_reduction"])):
                    claim = f"MixPE {paper}x {what}: {pair.label}, {model}"
                    if pair.baseline is None:
                        out.append(not_measured(claim, SOURCE, paper, f"{pair.why_missing}; {where}"))
                        continue
                    c = compare(s, model, pair, table, cache)
                    b = c["baseline"]
                    iso = c["iso"]["whole"]
                    ratio = b[metric] / iso[metric]
                    same = b[metric] / c["same"][metric]
                    logic, anyshape = c["iso"]["logic"], c["iso"]["any"]
                    r, col = iso["array"]
                    lr, lc = logic["array"]
                    ar, ac = anyshape["array"]
                    how = (f"{where}; baseline {pair.baseline.format(g=s.group_size, w=s.weight_format)} on "
                           f"{s.array[0]}x{s.array[1]} ({_fmt_area(b['area'])}); MixPE on the largest square array "
                           f"within the baseline's whole-design area: {r}x{col} ({_fmt_area(iso['area'])}); within "
                           f"its compute-logic area: {lr}x{lc} (ratio {b[metric] / logic[metric]:.3g}x); most PEs "
                           f"with rows and columns within 2x of each other: {ar}x{ac} (ratio "
                           f"{b[metric] / anyshape[metric]:.3g}x); same array {s.array[0]}x{s.array[1]}: "
                           f"{same:.3g}x (MixPE area {_fmt_area(c['same']['area'])}); {dq_note}; "
                           "deterministic model: no interval")
                    out.append(ClaimRecord(claim, SOURCE, paper, float(ratio), None, ratio_verdict(ratio, paper),
                                           how))
    return out

