"""Build the RTL component a command asks for: one PE, or an R x C array of it, from a spec or design."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accel.errors import ConfigError


@dataclass(frozen=True)
class Target:
    """What to build: a PE spec, and an array shape (None: the PE alone)."""

    pe: Any
    rows: int | None = None
    cols: int | None = None
    dequant: bool = False  # with an array: the column-edge FP32 group dequant units (MixPE)
    dequant_spec: Any = None  # the design's accel.design.DequantSpec (None: rtl.array.mixpe_array.rtl_dequant_spec)

    def __post_init__(self) -> None:
        from rtl.config import group_dequant_variants, has_group_dequant

        if self.dequant and (self.rows is None or not has_group_dequant(self.pe)):
            raise ConfigError(f"--dequant needs --array (or a design) and a MixPE PE "
                              f"({', '.join(group_dequant_variants())}), got PE {self.pe.to_string()!r} and array "
                              f"{self.rows!r}x{self.cols!r}")

    @property
    def name(self) -> str:
        base = self.pe.to_string().replace(":", "__").replace(",", "_").replace("=", "")
        if self.rows is None:
            return base
        return f"{base}_array{self.rows}x{self.cols}" + ("_dequant" if self.dequant else "")

    def component(self):
        """The PE, or the R x C array of it."""
        from rtl.config import binding

        b = binding(self.pe)
        if self.rows is None:
            return b.pe(self.pe)
        return b.array(self.pe, self.rows, self.cols, dequant=self.dequant, dequant_spec=self.dequant_spec)

    def info(self) -> dict[str, Any]:
        """Manifest information: the spec, its RTL config (and the array)."""
        from rtl.config import binding

        return binding(self.pe).info(self.pe, self.rows, self.cols, dequant=self.dequant,
                                     dequant_spec=self.dequant_spec)


def target_from_args(design: str | None, pe: str | None, array: str | None, dequant: bool = False) -> Target:
    """``--design FILE`` or ``--pe SPEC [--array RxC]`` [``--dequant``] -> :class:`Target` (no ``--array``: the PE
    alone)."""
    from accel.design import design_from_args

    d = design_from_args(design, pe, array)
    if design:
        if d.array.dataflow != "ws":
            raise ConfigError(f"the RTL array is weight stationary; design {design!r} has dataflow "
                              f"{d.array.dataflow!r} (valid: 'ws')")
        return Target(d.pe, d.array.rows, d.array.cols, dequant, d.dequant)
    if array:
        return Target(d.pe, d.array.rows, d.array.cols, dequant)
    return Target(d.pe, dequant=dequant)
