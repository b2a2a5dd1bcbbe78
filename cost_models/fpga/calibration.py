"""ASIC area proxy: the analytic area models against synthesised NAND2-equivalents (GE), per family.

Two analytic models are checked:

- ``anchored``: the width laws of :mod:`cost_models.operators` (Horowitz-anchored areas; what
  ``CostReport.area_um2`` uses) plus DFFs for registers;
- ``structural``: standard-cell counts of :mod:`cost_models.cells` times Nangate cell areas.

Composite kinds are scaled by parts (:func:`cost_models.fpga.structure.parts`: ``kulisch_add`` = a
``shift`` + an ``int_add``, each with its own family factor).

Each model's area divided by the NAND2 cell area gives analytic GE.  Synthesised GE come from Yosys with
a toy liberty (not a real 45 nm library), so a scale factor per operator family is expected; what
matters is that one factor per family explains every block of that family at every width.  GE are
compared only within one basis (the cell library they were counted with: REFERENCE.md's toy liberty
for the seed table, ``rtl/nand2_cells.lib`` for the width sweep and the RTL report).

Reported per block: the raw ratio, the error after one global factor, the error after the family
factor (fitted on every single-operator block of the basis), and a held-out error (leave-one-out when
the family has two or more blocks; composite blocks, e.g. a whole MAC, are always predicted from their
operators' family factors, never fitted).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cost_models import cells
from cost_models.fpga.blocks import SynthBlock, synth_blocks
from cost_models.fpga.model import residual_order
from cost_models.fpga.structure import family_of, parts
from cost_models.operators import OperatorModel
from cost_models.tables import CostTable

MODELS = ("anchored", "structural")


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def _op_ge(model: OperatorModel, which: str) -> Callable[[str], float]:
    nand2 = model.table.cells["nand2_um2"].value * model.table.area_scale
    if which == "anchored":
        return lambda key: model.price(key).area_um2 / nand2
    return lambda key: cells.structural_ge([key], table=model.table)


def analytic_ge(block: SynthBlock, model: OperatorModel, factors: dict[str, float] | None = None,
                default: float = 1.0, which: str = "anchored", only: str | None = None,
                skip: str | None = None) -> float:
    """Analytic NAND2-equivalents of a block (``which`` model), optionally scaled per operator family
    (``only``/``skip``: restrict to / leave out the operators of one family)."""
    op_ge = _op_ge(model, which)
    f = factors or {}
    keys = [p for k in block.ops for p in parts(k)
            if (only is None or family_of(p) == only) and (skip is None or family_of(p) != skip)]
    ops = sum(op_ge(k) * f.get(family_of(k), default) for k in keys)
    if only is not None:
        return ops
    regs = cells.structural_ge([], block.register_bits, model.table) * f.get("register", default)
    return ops + regs


def _calibrate(rows: list[SynthBlock], model: OperatorModel, which: str) -> dict:
    singles = [b for b in rows if not b.composite]

    def ge(b, fac=None, default=1.0):
        return analytic_ge(b, model, fac, default, which)

    def fit(bs):
        fam: dict[str, list[float]] = {}
        for b in bs:
            if not b.residual:
                fam.setdefault(b.family, []).append(b.ge / ge(b))
        if not fam:
            return {}, 1.0
        factors, g = {k: _geomean(v) for k, v in fam.items()}, _geomean([x for v in fam.values() for x in v])
        for fam_blocks in residual_order(bs, factors):  # what the other operators leave, per unit of structure
            ratios = [max(b.ge - analytic_ge(b, model, factors, g, which, skip=b.family), 0.0)
                      / analytic_ge(b, model, None, 1.0, which, only=b.family) for b in fam_blocks]
            factors[fam_blocks[0].family] = sum(ratios) / len(ratios)
        return factors, g

    if not singles:
        return {"global_factor": None, "family_factors": {}, "blocks": [], "max_abs_error": {}}
    factors, global_factor = fit(singles)
    out = []
    for b in rows:
        raw = ge(b)
        in_sample = ge(b, factors, global_factor)
        same = [x for x in singles if x is not b and x.family == b.family]
        if b.composite:
            loo, how = in_sample, "predicted from operator family factors (never fitted)"
        elif same:
            fac, g = fit([x for x in singles if x is not b])
            loo, how = ge(b, fac, g), "leave-one-out"
        else:
            loo, how = None, "only block of its family: no held-out check"
        out.append({"block": b.name, "family": b.family, "measured_ge": b.ge, "analytic_ge": round(raw, 1),
                    "ratio": b.ge / raw, "error_global_factor": raw * global_factor / b.ge - 1,
                    "calibrated_ge": round(in_sample, 1), "error_family_factor": in_sample / b.ge - 1,
                    "error_held_out": None if loo is None else loo / b.ge - 1, "held_out": how,
                    "source": b.source})
    worst: dict[str, dict[str, float]] = {}
    for r in out:
        w = worst.setdefault(r["family"], {"family_factor": 0.0, "held_out": 0.0})
        w["family_factor"] = max(w["family_factor"], abs(r["error_family_factor"]))
        if r["error_held_out"] is not None:
            w["held_out"] = max(w["held_out"], abs(r["error_held_out"]))
    return {"global_factor": global_factor, "family_factors": factors, "blocks": out, "max_abs_error": worst}


def asic_calibration(table: CostTable | str = "horowitz45", blocks: tuple[SynthBlock, ...] | None = None,
                     models: tuple[str, ...] = MODELS) -> dict:
    """Calibration per GE basis (cell library) and analytic model: family factors and every block's errors."""
    model = OperatorModel(table)
    rows = [b for b in (blocks if blocks is not None else synth_blocks()) if b.ge]
    bases: dict[str, list[SynthBlock]] = {}
    for b in rows:
        bases.setdefault(b.ge_basis or "unspecified", []).append(b)
    return {"table": model.table.name, "node_nm": model.table.node_nm,
            "bases": {k: {m: _calibrate(v, model, m) for m in models} for k, v in bases.items()}}


REFERENCE_FAMILY = "int_mul"


def relative_factors(table: CostTable | str = "horowitz45", blocks: tuple[SynthBlock, ...] | None = None) -> dict:
    """Structural-model factors per operator family relative to ``int_mul``, from synthesis.

    Within each GE basis a family's factor is divided by the basis' ``int_mul`` factor (so the toy
    liberties' absolute scale cancels); bases are combined by geometric mean.  Families never
    synthesised get 1.0 (the plain structural count).  These turn the structural cell counts into the
    calibrated area model (``area_model="calibrated"``).
    """
    cal = asic_calibration(table, blocks, models=("structural",))
    rel: dict[str, list[float]] = {}
    for by_model in cal["bases"].values():
        fac = by_model["structural"]["family_factors"]
        if REFERENCE_FAMILY not in fac:
            continue
        for fam, f in fac.items():
            rel.setdefault(fam, []).append(f / fac[REFERENCE_FAMILY])
    return {fam: _geomean(v) for fam, v in rel.items()}
