"""``evaluate(design, sim_result) -> CostReport``: energy and area by component, each with provenance.

Exported as ``cost_models.evaluate``."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from accel.activity import parse_key
from accel.errors import ConfigError
from cost_models import cells
from cost_models.datapath import DEQUANT_KINDS, weight_load_path
from cost_models.fpga.model import FpgaModel
from cost_models.memory import MemoryModel
from cost_models.operators import OperatorModel
from cost_models.pe_cost import PEHardware, dequant_unit_count, pe_hardware
from cost_models.tables import CostTable, get_table
from cost_models.usage import BUFFERS, Usage, operand_buffer, usage_from_sim
from sim import dataflows


@dataclass(frozen=True)
class Item:
    """One component's cost with its unit (in the field name), source and node."""

    value: float
    source: str
    node_nm: float
    detail: str = ""

    def to_dict(self) -> dict:
        return {"value": self.value, "source": self.source, "node_nm": self.node_nm, "detail": self.detail}


#: Energy components, each the breakdown items that pay for one thing (their sum is ``energy_pj``).
ENERGY_COMPONENTS = ("pe_arith", "dequant", "array", "sram", "dram", "leakage")
#: Breakdown item (``prefix.detail``) -> component: by the item's full name, else by its prefix.
_COMPONENT_OF_ITEM = {"pe.registers": "array"}
_COMPONENT_OF_PREFIX = {"pe": "pe_arith", "dequant": "dequant", "array": "array", "sram": "sram", "dram": "dram",
                        "leakage": "leakage"}


def energy_components(breakdown: dict[str, Item]) -> dict[str, float]:
    """Group an energy breakdown into :data:`ENERGY_COMPONENTS` (pJ): PE arithmetic (``pe.<kind>``),
    dequant units, register and array movement (PE pipeline registers, weight-load bus and shadow-register
    writes), SRAM, DRAM, leakage."""
    out = dict.fromkeys(ENERGY_COMPONENTS, 0.0)
    for key, item in breakdown.items():
        comp = _COMPONENT_OF_ITEM.get(key) or _COMPONENT_OF_PREFIX.get(key.split(".", 1)[0])
        if comp is None:
            raise ConfigError(f"energy item {key!r} belongs to no component; valid prefixes: "
                              f"{', '.join(_COMPONENT_OF_PREFIX)}")
        out[comp] += item.value
    return out


@dataclass(frozen=True)
class CostReport:
    energy_pj: float
    area_um2: float
    fpga_luts: int
    energy_breakdown_pj: dict[str, Item]
    area_breakdown_um2: dict[str, Item]
    fpga: dict[str, Any]
    cycles: int
    macs: int
    freq_mhz: float
    tokens: int | None
    provenance: dict[str, Any]
    hardware: PEHardware = field(repr=False, compare=False, default=None)

    @property
    def delay_s(self) -> float:
        return self.cycles / (self.freq_mhz * 1e6)

    @property
    def energy_components_pj(self) -> dict[str, float]:
        """Energy by component (:data:`ENERGY_COMPONENTS`); the values sum to ``energy_pj``."""
        return energy_components(self.energy_breakdown_pj)

    @property
    def energy_per_mac_pj(self) -> float | None:
        return self.energy_pj / self.macs if self.macs else None

    @property
    def energy_per_token_pj(self) -> float | None:
        return self.energy_pj / self.tokens if self.tokens else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_pj": self.energy_pj, "area_um2": self.area_um2, "fpga_luts": self.fpga_luts,
            "energy_per_mac_pj": self.energy_per_mac_pj, "energy_per_token_pj": self.energy_per_token_pj,
            "cycles": self.cycles, "macs": self.macs, "freq_mhz": self.freq_mhz, "delay_s": self.delay_s,
            "energy_delay_product_pj_s": self.energy_pj * self.delay_s,
            "area_delay_product_um2_s": self.area_um2 * self.delay_s,
            "energy_components_pj": self.energy_components_pj,
            "energy_breakdown_pj": {k: v.to_dict() for k, v in self.energy_breakdown_pj.items()},
            "area_breakdown_um2": {k: v.to_dict() for k, v in self.area_breakdown_um2.items()},
            "fpga": self.fpga, "provenance": self.provenance,
            "pe_hardware": self.hardware.to_dict() if self.hardware else None,
        }


def evaluate(design, sim_result, *, table: CostTable | str = "horowitz45", fpga_target: str = "xc7",
             tokens: int | None = None, area_model: str = "calibrated") -> CostReport:
    """Price a simulated run of ``design`` (``sim_result``: a ``sim.SimResult``, its
    :class:`accel.activity.ActivityTotals`, or a :class:`Usage`).

    ``tokens`` (tokens the run produced) gives ``energy_per_token_pj`` when the result does not carry it.
    """
    usage = sim_result if isinstance(sim_result, Usage) else usage_from_sim(sim_result)
    if tokens is not None:
        usage = dataclasses.replace(usage, tokens=int(tokens))
    return price(design, usage, table=table, fpga_target=fpga_target, area_model=area_model)


def price(design, usage: Usage, *, table: CostTable | str = "horowitz45", fpga_target: str = "xc7",
          area_model: str = "calibrated") -> CostReport:
    """Energy by component (PE arithmetic by op kind, PE registers, dequant, SRAM by buffer, DRAM, leakage)
    and area by component (PEs, dequant units, buffers).  ``area_model``: ``calibrated`` (standard cells,
    synthesis-calibrated; default) or ``anchored`` (Horowitz-anchored width laws); see
    :func:`cost_models.pe_cost.unit_area`."""
    t = get_table(table) if isinstance(table, str) else table
    ops, mem = OperatorModel(t), MemoryModel(t)
    node = t.node_nm
    hw = pe_hardware(design.pe, ops, area_model)

    energy: dict[str, Item] = {}
    by_kind: dict[str, float] = defaultdict(float)
    detail: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, set[str]] = defaultdict(set)
    dq_keys = {u.key for u in hw.dequant_units}
    for key, count in sorted(usage.activity.items()):
        kind, _ = parse_key(key)
        c = ops.price(key)
        comp = f"dequant.{kind}" if kind in DEQUANT_KINDS or key in dq_keys else f"pe.{kind}"
        by_kind[comp] += count * c.energy_pj
        detail[comp].append(f"{key} x {count} @ {c.energy_pj:.4g} pJ")
        sources[comp].add(c.source)
    for comp in sorted(by_kind):
        energy[comp] = Item(by_kind[comp], "; ".join(sorted(sources[comp])), node, ", ".join(detail[comp]))
    pe = design.pe
    reg_bits_per_mac = int(pe.act_bits) + hw.acc_bits
    e_bit = t.cells["register_bit_energy_pj"].value * t.energy_scale
    energy["pe.registers"] = Item(usage.macs * reg_bits_per_mac * e_bit, hw.register.source, node,
                                  f"{reg_bits_per_mac} register bits written per MAC (activation + partial sum)")
    path = weight_load_path(design)
    stationary = dataflows.get(design.array.dataflow).stationary
    loaded = usage.sram_read_bits.get(operand_buffer(stationary), 0) if stationary else 0
    e_mux = e_bit * t.cells["mux2_um2"].value / t.cells["dff_um2"].value
    energy["array.weight_load"] = Item(
        loaded * path.mux_levels * e_mux, f"{t.cite(t.cells['mux2_um2'].source)}; energy: "
        f"{t.cite(t.cells['register_bit_energy_pj'].source)} x MUX2/DFF area", node,
        f"{loaded} stationary bits through {path.mux_levels} write-port mux level(s) of a {path.lanes}-lane "
        f"weight-load bus at {e_mux:.4g} pJ per bit and level (the one-lane bus is the uncharged baseline)")
    for b in BUFFERS:
        cap = getattr(design.memory, b).capacity_bits
        rd, wr = usage.sram_read_bits.get(b, 0), usage.sram_write_bits.get(b, 0)
        e = rd * mem.sram_read_pj_per_bit(cap) + wr * mem.sram_write_pj_per_bit(cap)
        energy[f"sram.{b}"] = Item(e, mem.sram_source, node,
                                   f"{rd} bits read, {wr} bits written, {cap} bit capacity")
    dram_pj, dram_source, dram_detail = mem.dram_energy_pj(usage.dram_bits, design.memory.dram)
    energy["dram"] = Item(dram_pj, dram_source, node, dram_detail)

    arr = design.array
    n_pe, n_dq = arr.rows * arr.cols, dequant_unit_count(design)
    area = {"pes": Item(n_pe * hw.pe_area_um2, "; ".join(sorted({u.source for u in hw.pe_units})), node,
                        f"{n_pe} PEs x {hw.pe_area_um2:.4g} um^2"),
            "dequant_units": Item(n_dq * hw.dequant_area_um2 if hw.dequant_units else 0.0,
                                  "; ".join(sorted({u.source for u in hw.dequant_units})) or "n/a", node,
                                  f"{n_dq} units ({design.dequant.placement}) x {hw.dequant_area_um2:.4g} um^2")}
    port_cells = Counter({"mux2": n_pe * path.port_muxes_per_pe, "and2": path.extra_bus_repeaters})
    area["weight_load_path"] = Item(cells.area_um2(port_cells, t), t.cite(t.cells["mux2_um2"].source), node,
                                    f"{path.lanes} lane(s) of {path.lane_bits} bits per column: "
                                    f"{port_cells['mux2']} write-port MUX2 + {port_cells['and2']} bus repeaters "
                                    "beyond the one-lane bus")
    sram_area = 0.0
    for b in BUFFERS:
        a = mem.sram_area_um2(getattr(design.memory, b).capacity_bits)
        sram_area += a
        area[f"buffers.{b}"] = Item(a, mem.sram_area_source, node, "")
    logic_area = area["pes"].value + area["dequant_units"].value + area["weight_load_path"].value
    energy["leakage"] = Item(usage.cycles * mem.leakage_pj_per_cycle(logic_area, sram_area, arr.freq_mhz),
                             mem.leakage_source, node, f"{usage.cycles} cycles at {arr.freq_mhz} MHz")

    fpga = FpgaModel(fpga_target).design_luts(design, hw, n_dq)
    prov = {**t.provenance, "usage": usage.source, "design": design.to_dict(), "fpga_target": fpga_target,
            "area_model": area_model}
    return CostReport(energy_pj=sum(energy_components(energy).values()), area_um2=sum(i.value for i in area.values()),
                      fpga_luts=fpga["luts"], energy_breakdown_pj=energy, area_breakdown_um2=area, fpga=fpga,
                      cycles=usage.cycles, macs=usage.macs, freq_mhz=float(arr.freq_mhz), tokens=usage.tokens,
                      provenance=prov, hardware=hw)
