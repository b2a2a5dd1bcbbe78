"""Plain-dict summaries of formats and schemes (what the CLI prints and ``--json`` emits)."""

from __future__ import annotations

from accel.formats.blocks import BFPFormat, BlockScheme, GroupScheme, MXFormat
from accel.formats.ggml import GGMLFormat
from accel.formats.integer import IntFormat
from accel.formats.minifloat import FloatFormat

#: Formats with more codes than this are summarised without their code table.
MAX_TABLE_BITS = 16


def kind(obj) -> str:
    for cls, label in [(IntFormat, "integer"), (FloatFormat, "float"), (GroupScheme, "group"), (MXFormat, "mx"),
                       (BFPFormat, "bfp"), (GGMLFormat, "ggml")]:
        if isinstance(obj, cls):
            return label
    return type(obj).__name__


def summary(obj) -> dict:
    """Name, kind and the derived parameters of a format or scheme."""
    out = {"name": obj.name, "kind": kind(obj)}
    if isinstance(obj, BlockScheme):
        out.update(element=obj.element.name, element_bits=obj.element.bits, group_size=obj.group_size,
                   bits_per_element=obj.bits_per_element)
        scale = "e8m0 exponent (step)" if isinstance(obj, BFPFormat) else obj.scale.name
        out["scale"] = scale
        if isinstance(obj, GroupScheme):
            out["zero_point"] = obj.asym
        if isinstance(obj, GGMLFormat):
            out["min"] = obj.name == "q4_1"
        return out
    out.update(bits=obj.bits, max=obj.max, min_normal=obj.min_normal, min_subnormal=obj.min_subnormal,
               has_inf=obj.has_inf, has_nan=obj.has_nan)
    if isinstance(obj, FloatFormat):
        out.update(ebits=obj.ebits, mbits=obj.mbits, bias=obj.bias, specials=obj.specials, signed=obj.signed,
                   subnormals=obj.subnormals)
    else:
        out.update(signed=obj.signed, frac_bits=obj.frac_bits)
    return out


def element_of(obj):
    return obj.element if isinstance(obj, BlockScheme) else obj
