"""DRAM technology: energy per bit and bandwidth of the off-chip memory, by preset name or explicit numbers.

``memory.dram`` in a design file (``--dram`` on ``accel sim`` / ``accel cost``) names a preset of
``accel/data/dram_technologies.yaml`` (``ddr4``: today's figures, ``lpddr5``, ``hbm3``; every figure with its
source) or gives ``{pj_per_bit: .., bandwidth_bits_per_cycle: ..}``.  A preset's bandwidth is in GB/s and
becomes bytes per cycle at the array's clock when it is applied (:func:`accel.design.with_dram`); the
simulator reads the bandwidth, the cost model the energy per bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from accel.errors import ConfigError, short_repr

PRESETS_FILE = Path(__file__).parent / "data" / "dram_technologies.yaml"
EXPLICIT_KEYS = ("pj_per_bit", "bandwidth_bits_per_cycle")


@dataclass(frozen=True)
class DramTechnology:
    """One DRAM technology.  ``pj_per_bit`` None: the cost table's DRAM figure.  Bandwidth is either a
    preset's ``bandwidth_gb_per_s`` or an explicit ``bandwidth_bits_per_cycle``."""

    name: str
    pj_per_bit: float | None
    source: str
    bandwidth_gb_per_s: float | None = None
    bandwidth_bits_per_cycle: float | None = None

    def bandwidth_bytes_per_cycle(self, freq_mhz: float) -> float:
        """Peak bytes per cycle at a clock of ``freq_mhz``."""
        if self.bandwidth_bits_per_cycle is not None:
            return self.bandwidth_bits_per_cycle / 8
        return self.bandwidth_gb_per_s * 1e3 / freq_mhz  # GB/s / MHz = 1e9 B / 1e6 cycles


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


@cache
def presets() -> dict[str, DramTechnology]:
    """The preset technologies by name, each with its citations."""
    from accel.config import read_yaml

    data = read_yaml(PRESETS_FILE, "DRAM technology table")
    sources = data["sources"]
    out = {}
    for name, t in data["technologies"].items():
        cites = f"energy: {sources[t['pj_per_bit_source']]}; bandwidth: {sources[t['bandwidth_source']]}"
        out[name] = DramTechnology(name, t["pj_per_bit"], " ".join(cites.split()),
                                   bandwidth_gb_per_s=float(t["bandwidth_gb_per_s"]))
    return out


def dram_technology(spec: Any) -> DramTechnology:
    """A preset by name, or ``{pj_per_bit, bandwidth_bits_per_cycle}`` (both positive numbers)."""
    if isinstance(spec, DramTechnology):
        return spec
    if isinstance(spec, str):
        known = presets()
        if spec not in known:
            raise ConfigError(f"unknown DRAM technology {short_repr(spec)}; valid presets: {', '.join(known)}, "
                              f"or a mapping {{{', '.join(EXPLICIT_KEYS)}}}")
        return known[spec]
    if not isinstance(spec, Mapping):
        raise ConfigError(f"memory.dram must be a preset name ({', '.join(presets())}) or a mapping "
                          f"{{{', '.join(EXPLICIT_KEYS)}}}, got {short_repr(spec)}")
    problems = [f"unknown key memory.dram.{short_repr(k)}; valid keys: {', '.join(EXPLICIT_KEYS)}"
                for k in sorted(set(spec) - set(EXPLICIT_KEYS), key=str)]
    for k in EXPLICIT_KEYS:
        if k not in spec:
            problems.append(f"memory.dram.{k} is missing (a positive number)")
        elif not _positive(spec[k]):
            problems.append(f"memory.dram.{k} must be a positive number, got {short_repr(spec[k])}")
    if problems:
        raise ConfigError("; ".join(problems))
    return DramTechnology("explicit", float(spec["pj_per_bit"]), "given in the design",
                          bandwidth_bits_per_cycle=float(spec["bandwidth_bits_per_cycle"]))
