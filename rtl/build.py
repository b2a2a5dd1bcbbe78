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
    dequant_spec: Any = None  # the design's accel.design.DequantSpec (None: rtl.mixpe_array.rtl_dequant_spec)

    def __post_init__(self) -> None:
        from rtl.golden import MIXPE

        if self.dequant and (self.rows is None or self.pe.name not in MIXPE):
            raise ConfigError(f"--dequant needs --array (or a design) and a MixPE PE ({', '.join(MIXPE)}), got PE "
                              f"{self.pe.to_string()!r} and array {self.rows!r}x{self.cols!r}")

    @property
    def name(self) -> str:
        base = self.pe.to_string().replace(":", "__").replace(",", "_").replace("=", "")
        if self.rows is None:
            return base
        return f"{base}_array{self.rows}x{self.cols}" + ("_dequant" if self.dequant else "")

    def component(self):
        from rtl.golden import OWN_CONFIG, fp_accumulating, fp_mac_config, has_act_sum, mac_config, mixpe_array

        if self.pe.name in OWN_CONFIG:
            from rtl.golden_block import own_component

            return own_component(self.pe, self.rows, self.cols)
        if fp_accumulating(self.pe):  # FP32-accumulating PEs (rtl.fp_mac) and their array (rtl.fp_array)
            from rtl.fp_array import for_spec
            from rtl.fp_mac import FpMacPE

            return FpMacPE(fp_mac_config(self.pe)) if self.rows is None else for_spec(self.pe, self.rows, self.cols)
        cfg = mac_config(self.pe)
        if self.dequant:
            return mixpe_array(self.pe, self.rows, self.cols, dequant=self.dequant_spec)
        if self.rows is None:
            from rtl.mac import MacPE

            return MacPE(cfg)
        from rtl.array import WSArray

        return WSArray(cfg, self.rows, self.cols, act_sum=has_act_sum(self.pe))

    def info(self) -> dict[str, Any]:
        from rtl.golden import OWN_CONFIG, fp_accumulating, fp_mac_config, mac_config

        if self.pe.name in OWN_CONFIG:
            from rtl.golden_block import own_info

            return own_info(self.pe, self.rows, self.cols)
        if fp_accumulating(self.pe):
            d = {"pe": self.pe.to_string(), "rtl_config": repr(fp_mac_config(self.pe))}
            if self.rows is not None:
                d["array"] = {"rows": self.rows, "cols": self.cols, "dataflow": "ws",
                              "psum": "fp32, psum-in at the top (rtl.fp_array)",
                              "dequant": "fp16 at the top edge on weight load" if fp_mac_config(self.pe).dequant
                              else "none"}
            return d
        cfg = mac_config(self.pe)
        d: dict[str, Any] = {"pe": self.pe.to_string(), "rtl_config": cfg.__dict__.copy()}
        if self.rows is not None:
            d["array"] = {"rows": self.rows, "cols": self.cols, "dataflow": "ws",
                          "dequant": "column_edge FP32 units (rtl.mixpe_array)" if self.dequant else
                          "none in the module: integer P (and S_a) leave the array"}
        if self.rows is not None and self.dequant:
            from dataclasses import asdict

            from rtl.mixpe_array import rtl_dequant_spec

            dq = self.dequant_spec or rtl_dequant_spec(self.rows, self.pe.group_size)
            d["array"]["dequant_spec"] = asdict(dq)  # latency_cycles: the pipeline depth built
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
        return Target(d.pe, d.array.rows, d.array.cols, dequant, d.dequant)
    spec = parse(pe)
    if array:
        rows, cols = ArraySpec.parse_shape(array)
        ArraySpec(rows=rows, cols=cols)  # validates the range
        return Target(spec, rows, cols, dequant)
    return Target(spec, dequant=dequant)
