"""What the simulator reads from an ``accel.pe`` spec (docs/contracts.md), checked once."""

from __future__ import annotations

from dataclasses import dataclass

from accel.errors import ConfigError
from accel.pe.base import DEQUANT_PLACEMENTS as DEQUANT_MODES  # a PE's dequant mode: where it dequantizes

_NEEDED = ("weight_bits", "act_bits", "weight_storage_bits", "act_storage_bits", "out_bits", "group_size",
           "macs_per_pe_per_cycle", "dequant")


@dataclass(frozen=True)
class PEView:
    """The PE attributes that size memory traffic and timing."""

    name: str
    weight_bits: int  # element widths: what the array's registers hold
    act_bits: int
    weight_storage_bits: float
    act_storage_bits: float
    out_bits: int
    group_size: int | None
    macs_per_pe_per_cycle: int
    dequant: str

    @property
    def packed_group(self) -> int | None:
        """Group size in packed K steps (``group_size / macs_per_pe_per_cycle``)."""
        return None if self.group_size is None else self.group_size // self.macs_per_pe_per_cycle


def pe_view(pe) -> PEView:
    """Read and validate the contract attributes of a PE spec; ConfigError names what is wrong."""
    missing = [a for a in _NEEDED if not hasattr(pe, a)]
    if missing:
        raise ConfigError(f"design.pe {pe!r} is not an accel.pe spec: missing attribute(s) {', '.join(missing)}; "
                          f"expected {', '.join(_NEEDED)}")
    v = PEView(name=str(getattr(pe, "name", type(pe).__name__)), weight_bits=pe.weight_bits, act_bits=pe.act_bits,
               weight_storage_bits=pe.weight_storage_bits,
               act_storage_bits=pe.act_storage_bits, out_bits=pe.out_bits, group_size=pe.group_size,
               macs_per_pe_per_cycle=pe.macs_per_pe_per_cycle, dequant=pe.dequant)
    problems = []
    for a in ("weight_storage_bits", "act_storage_bits", "out_bits"):
        x = getattr(v, a)
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not x > 0:
            problems.append(f"pe.{a} must be a positive number, got {x!r}")
    for a in ("weight_bits", "act_bits"):
        x = getattr(v, a)
        if not isinstance(x, int) or isinstance(x, bool) or x < 1:
            problems.append(f"pe.{a} must be an integer >= 1, got {x!r}")
    s = v.macs_per_pe_per_cycle
    if not isinstance(s, int) or isinstance(s, bool) or s < 1:
        problems.append(f"pe.macs_per_pe_per_cycle must be an integer >= 1, got {s!r}")
    g = v.group_size
    if g is not None and (not isinstance(g, int) or isinstance(g, bool) or g < 1):
        problems.append(f"pe.group_size must be an integer >= 1 or None, got {g!r}")
    elif g is not None and isinstance(s, int) and s >= 1 and g % s:
        problems.append(f"pe.group_size must be a multiple of macs_per_pe_per_cycle={s}, got {g!r}")
    if v.dequant not in DEQUANT_MODES:
        problems.append(f"pe.dequant must be one of {', '.join(DEQUANT_MODES)}, got {v.dequant!r}")
    if v.dequant == "per_group" and g is None:
        problems.append("pe.group_size must be set when pe.dequant is 'per_group', got None")
    if problems:
        raise ConfigError("invalid PE for simulation: " + "; ".join(problems))
    return v
