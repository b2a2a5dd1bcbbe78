"""Memory costs: SRAM read/write energy per bit and area vs capacity and width, DRAM, leakage.

- SRAM read energy: a power law E64(C) = a * C^b (pJ per 64-bit access, C in bytes) fitted in log space
  to the table's published points (Horowitz ISSCC 2014: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ); the fit
  and its residual at each point are reported by :meth:`MemoryModel.sram_fit`.  Energy per bit is
  E64 / 64; an access of W bits costs W times that (width enters linearly: wide words share no
  decoder energy in this model, which over-prices very wide words slightly).  Write = read times the
  table's ``sram_write_over_read``.
- SRAM area: capacity_bits * 600 lambda^2 (Greaves/CACTI rule of thumb per bit including
  periphery), lambda = the table's base node; node scaling applies on top.
- DRAM: the table's energy per 64-bit access / 64 per bit (midpoint of Horowitz's 1.3-2.6 nJ; low and
  high are reported), or the design's DRAM technology's energy per bit (``accel.dram``: LPDDR5, HBM3 or
  explicit).  Off-chip, so it is NOT scaled with the logic node.
- Leakage: area times a static power density (logic and SRAM separately), per cycle = power / f.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accel.errors import ConfigError
from cost_models.tables import CostTable, get_table


@dataclass(frozen=True)
class SramFit:
    a_pj: float
    b: float
    points: tuple[tuple[int, float, float], ...]  # (capacity_bytes, published pJ/64b, fitted pJ/64b)

    def to_dict(self) -> dict:
        return {"law": "E64_pj = a * capacity_bytes^b", "a_pj": self.a_pj, "b": self.b,
                "points": [{"capacity_bytes": c, "published_pj": p, "fit_pj": f, "error": f / p - 1}
                           for c, p, f in self.points]}


class MemoryModel:
    def __init__(self, table: CostTable | str = "horowitz45"):
        self.table = get_table(table) if isinstance(table, str) else table
        pts = self.table.sram_read_64b
        xs = [math.log(p.capacity_bytes) for p in pts]
        ys = [math.log(p.energy_pj) for p in pts]
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        a = math.exp(my - b * mx)
        self.fit = SramFit(a, b, tuple((p.capacity_bytes, p.energy_pj, a * p.capacity_bytes ** b) for p in pts))

    def sram_fit(self) -> SramFit:
        return self.fit

    @property
    def sram_source(self) -> str:
        t = self.table
        return "fit to " + "; ".join(sorted({t.cite(p.source) for p in t.sram_read_64b}))

    def _check_capacity(self, capacity_bits: int) -> None:
        if not isinstance(capacity_bits, int) or capacity_bits < 8:
            raise ConfigError(f"SRAM capacity_bits must be an integer >= 8, got {capacity_bits!r}")

    def sram_read_pj_per_bit(self, capacity_bits: int) -> float:
        self._check_capacity(capacity_bits)
        return self.fit.a_pj * (capacity_bits / 8) ** self.fit.b / 64 * self.table.energy_scale

    def sram_write_pj_per_bit(self, capacity_bits: int) -> float:
        return self.sram_read_pj_per_bit(capacity_bits) * self.table.memory["sram_write_over_read"].value

    def sram_access_pj(self, capacity_bits: int, width_bits: int, write: bool = False) -> float:
        """Energy of one access of ``width_bits`` to an SRAM of ``capacity_bits``."""
        if not isinstance(width_bits, int) or width_bits < 1:
            raise ConfigError(f"SRAM width_bits must be a positive integer, got {width_bits!r}")
        per_bit = self.sram_write_pj_per_bit(capacity_bits) if write else self.sram_read_pj_per_bit(capacity_bits)
        return width_bits * per_bit

    def sram_area_um2(self, capacity_bits: int) -> float:
        self._check_capacity(capacity_bits)
        t = self.table
        lam_um = (t.base_node_nm or t.node_nm) / 1000
        return capacity_bits * t.memory["sram_area_lambda2_per_bit"].value * lam_um ** 2 * t.area_scale

    @property
    def sram_area_source(self) -> str:
        return self.table.cite(self.table.memory["sram_area_lambda2_per_bit"].source)

    def dram_pj_per_bit(self, which: str = "value") -> float:
        f = self.table.memory["dram_access_64b_pj"]
        v = {"value": f.value, "low": f.low, "high": f.high}.get(which)
        if v is None:
            raise ConfigError(f"DRAM energy bound {which!r} not in table; valid: value, low, high")
        return float(v) / 64

    @property
    def dram_source(self) -> str:
        return self.table.cite(self.table.memory["dram_access_64b_pj"].source) + " (not node-scaled: off-chip)"

    def dram_energy_pj(self, bits: int, technology=None) -> tuple[float, str, str]:
        """Energy (pJ) of moving ``bits`` across DRAM, its source and a detail line: at ``technology``'s
        energy per bit (an :class:`accel.dram.DramTechnology`) when it has one, else at the table's figure."""
        if technology is not None and technology.pj_per_bit is not None:
            e = technology.pj_per_bit
            return (bits * e, f"{technology.source} (not node-scaled: off-chip)",
                    f"{bits} bits at {e:.4g} pJ/bit ({technology.name})")
        name = f" ({technology.name})" if technology is not None else ""
        return (bits * self.dram_pj_per_bit(), self.dram_source,
                f"{bits} bits{name}; range {bits * self.dram_pj_per_bit('low'):.4g}-"
                f"{bits * self.dram_pj_per_bit('high'):.4g} pJ")

    def leakage_pj_per_cycle(self, logic_area_um2: float, sram_area_um2: float, freq_mhz: float) -> float:
        """Static energy (pJ) per clock cycle of the given logic and SRAM areas at ``freq_mhz``."""
        t = self.table
        p_nw = (logic_area_um2 * t.memory["logic_leakage_nw_per_um2"].value
                + sram_area_um2 * t.memory["sram_leakage_nw_per_um2"].value) * t.leakage_scale
        # nW / MHz = 1e-9 W / 1e6 Hz = 1e-15 J = 1e-3 pJ
        return p_nw / freq_mhz * 1e-3

    @property
    def leakage_source(self) -> str:
        t = self.table
        return "; ".join(sorted({t.cite(t.memory[k].source)
                                 for k in ("logic_leakage_nw_per_um2", "sram_leakage_nw_per_um2")}))
