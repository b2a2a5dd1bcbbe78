"""Verilog export of an Amaranth component plus a JSON manifest of its ports, fields and latency.

The manifest is what drivers (cocotb, an FPGA wrapper) need: each port's Verilog name, direction,
width and signedness; struct ports list their fields with bit offsets; ``clk``/``rst`` are the
implicit ``sync`` domain's synchronous active-high reset.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _shape_info(shape) -> dict[str, Any]:
    from amaranth.hdl import Shape
    from amaranth.lib import data

    if isinstance(shape, data.Layout):
        fields = {}
        for name, field in shape:
            sub = _shape_info(field.shape)
            sub["offset"] = field.offset
            fields[str(name)] = sub
        return {"width": shape.size, "signed": False, "fields": fields}
    s = Shape.cast(shape)
    return {"width": s.width, "signed": s.signed}


def ports(component) -> dict[str, dict[str, Any]]:
    """Verilog port name -> direction/width/signedness (and struct fields) for a wiring.Component."""
    from amaranth.lib import wiring

    result: dict[str, dict[str, Any]] = {}
    for path, member in component.signature.members.flatten():
        if not member.is_port:
            continue
        info = _shape_info(member.shape)
        info["direction"] = "input" if member.flow == wiring.In else "output"
        result["__".join(str(p) for p in path)] = info
    return result


_INIT_ATTR = re.compile(r"^\s*\(\* init = [^*]*\*\)\n", re.M)
_REG_INIT = re.compile(r"^(\s*reg (?:\[[^\]]+\] )?(?!\\\$auto\$)\S+ *) = [^;]+;", re.M)


def strip_initial_values(verilog_text: str) -> str:
    """Remove register initialisers and ``init`` attributes: the design must work from its reset alone.

    (Amaranth's own ``$auto$`` helper register, which only triggers combinational blocks at time 0,
    keeps its initialiser.)
    """
    return _REG_INIT.sub(r"\1;", _INIT_ATTR.sub("", verilog_text))


def to_verilog(component, name: str, *, initial_values: bool = False) -> str:
    """Synthesizable Verilog (no source attributes) of ``component`` as module ``name``.

    By default register initialisers are stripped, so simulation and FPGA/ASIC flows rely on the
    synchronous active-high reset only (``rst`` for at least one clock edge before use).
    """
    from amaranth.back import verilog

    text = verilog.convert(component, name=name, emit_src=False)
    return text if initial_values else strip_initial_values(text)


def to_rtlil(component, name: str) -> str:
    """RTLIL of ``component`` (Yosys reads it directly; same counts as the Verilog)."""
    from amaranth.back import rtlil

    return rtlil.convert(component, name=name, emit_src=False)


def manifest(component, name: str, **info: Any) -> dict[str, Any]:
    """The JSON manifest for ``component``: module name, clock/reset, ports, latency, extra ``info``."""
    import amaranth

    return {
        "schema_version": 1,
        "module": name,
        "clock": "clk",
        "reset": {"port": "rst", "kind": "synchronous, active high"},
        "latency_cycles": getattr(component, "latency_cycles", None),
        "ports": ports(component),
        "amaranth_version": amaranth.__version__,
        **info,
    }


def export(component, out_dir: str | Path, name: str, **info: Any) -> dict[str, str]:
    """Write ``<name>.v`` and ``<name>.json`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    v_path, j_path = out / f"{name}.v", out / f"{name}.json"
    v_path.write_text(to_verilog(component, name))
    j_path.write_text(json.dumps(manifest(component, name, **info), indent=2, default=str) + "\n")
    log.info("wrote %s and %s", v_path, j_path)
    return {"verilog": str(v_path), "manifest": str(j_path)}
