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

    def __post_init__(self) -> None:
        if self.dequant and (self.rows is None or self.pe.name != "mixpe_w4a8"):
            raise ConfigError(f"--dequant needs --array (or a design) and a mixpe_w4a8 PE, got PE "
                              f"{self.pe.to_string()!r} and array {self.rows!r}x{self.cols!r}")

    @property
    def name(self) -> str:
        base = self.pe.to_string().replace(":", "__").replace(",", "_").replace("=", "")
        if self.rows is None:
            return base
        return f"{base}_array{self.rows}x{self.cols}" + ("_dequant" if self.dequant else "")

    def component(self):
        from rtl.golden import has_act_sum, mac_config, mixpe_array

        cfg = mac_config(self.pe)
        if self.dequant:
            return mixpe_array(self.pe, self.rows, self.cols)
        if self.rows is None:
            from rtl.mac import MacPE

            return MacPE(cfg)
        from rtl.array import WSArray

        return WSArray(cfg, self.rows, self.cols, act_sum=has_act_sum(self.pe))

    def info(self) -> dict[str, Any]:
        from rtl.golden import mac_config

        cfg = mac_config(self.pe)
        d: dict[str, Any] = {"pe": self.pe.to_string(), "rtl_config": cfg.__dict__.copy()}
        if self.rows is not None:
            d["array"] = {"rows": self.rows, "cols": self.cols, "dataflow": "ws",
                          "dequant": "column_edge FP32 units (rtl.mixpe_array)" if self.dequant else
                          "none in the module: integer P (and S_a) leave the array"}
        return d


def target_from_args(design: str | None, pe: str | None, array: str | None, dequant: bool = False) -> Target:
    """``--design FILE`` or ``--pe SPEC [--array RxC]`` [``--dequant``] -> :class:`Target`."""
    from accel.design import ArraySpec, load_design
    from accel.pe import parse

    if bool(design) == bool(pe):
        raise ConfigError("give exactly one of --design FILE or --pe SPEC, got "
                          f"design={design!r} pe={pe!r}")
    if design:
        if array:
            raise ConfigError(f"--array {array!r} cannot be combined with --design (the design has its array)")
        d = load_design(design)
        if d.array.dataflow != "ws":
            raise ConfigError(f"the RTL array is weight stationary; design {design!r} has dataflow "
                              f"{d.array.dataflow!r} (valid: 'ws')")
        return Target(d.pe, d.array.rows, d.array.cols, dequant)
    spec = parse(pe)
    if array:
        rows, cols = ArraySpec.parse_shape(array)
        ArraySpec(rows=rows, cols=cols)  # validates the range
        return Target(spec, rows, cols, dequant)
    return Target(spec, dequant=dequant)
