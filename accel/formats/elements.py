"""The element-format catalogue: integers, ml_dtypes minifloats, Brevitas eXmY, scale formats."""

from __future__ import annotations

import re

from accel.errors import FormatError
from accel.formats.integer import IntFormat
from accel.formats.minifloat import FloatFormat
from accel.formats.registry import register, register_parser

INT_BITS = range(2, 9)
#: Total widths of the Brevitas-style eXmY minifloats (sign + E + M).
EXMY_BITS = range(3, 9)


def ieee_bias(ebits: int) -> int:
    return 2 ** (ebits - 1) - 1


def _int_formats() -> None:
    for bits in INT_BITS:
        register(f"int{bits}", IntFormat(f"int{bits}", bits, signed=True))
    for bits in INT_BITS:
        register(f"uint{bits}", IntFormat(f"uint{bits}", bits, signed=False))


#: ml_dtypes minifloats: name -> (E, M, bias, specials, signed, subnormals).
ML_DTYPES_FLOATS = {
    "float8_e4m3fn": (4, 3, 7, "fn", True, True),
    "float8_e4m3fnuz": (4, 3, 8, "fnuz", True, True),
    "float8_e4m3b11fnuz": (4, 3, 11, "fnuz", True, True),
    "float8_e4m3": (4, 3, 7, "ieee", True, True),
    "float8_e3m4": (3, 4, 3, "ieee", True, True),
    "float8_e5m2": (5, 2, 15, "ieee", True, True),
    "float8_e5m2fnuz": (5, 2, 16, "fnuz", True, True),
    "float6_e2m3fn": (2, 3, 1, "finite", True, True),
    "float6_e3m2fn": (3, 2, 3, "finite", True, True),
    "float4_e2m1fn": (2, 1, 1, "finite", True, True),
    "float8_e8m0fnu": (8, 0, 127, "fn", False, False),
}


def _minifloats() -> None:
    for name, (e, m, bias, specials, signed, subnormals) in ML_DTYPES_FLOATS.items():
        register(name, FloatFormat(name, e, m, bias, specials, signed, subnormals))


def exmy_names() -> list[str]:
    return [f"e{e}m{bits - 1 - e}" for bits in EXMY_BITS for e in range(1, bits)]


def _exmy(name: str) -> FloatFormat:
    """Brevitas-style minifloat: IEEE bias, subnormals, every code finite, saturating."""
    e, m = (int(v) for v in re.fullmatch(r"e(\d+)m(\d+)", name).groups())
    return FloatFormat(name, e, m, ieee_bias(e), "finite")


def _parse_bad_element(name: str) -> None:
    """Explain names that look like an element format but have invalid parameters."""
    if (m := re.fullmatch(r"e(\d+)m(\d+)", name)) and name not in exmy_names():
        raise FormatError(f"invalid minifloat {name!r}: need E >= 1, M >= 0 and 3 <= 1+E+M <= 8 bits; "
                          f"valid choices: {', '.join(exmy_names())}")
    if m := re.fullmatch(r"(u?int)(\d+)", name):
        raise FormatError(f"invalid integer format {name!r}: bits must be {INT_BITS.start}..{INT_BITS.stop - 1}; "
                          f"valid choices: {', '.join(f'{m.group(1)}{b}' for b in INT_BITS)}")
    return None


def _scale_formats() -> None:
    register("fp32", FloatFormat("fp32", 8, 23, 127, "ieee"))
    register("fp16", FloatFormat("fp16", 5, 10, 15, "ieee"))
    register("bf16", FloatFormat("bf16", 8, 7, 127, "ieee"))
    register("e8m0", FloatFormat("e8m0", 8, 0, 127, "fn", signed=False, subnormals=False))


#: Formats group schemes may use for their per-group scales.
SCALE_FORMATS = ("fp16", "bf16", "fp32", "e8m0")

_int_formats()
_minifloats()
for _name in exmy_names():
    register(_name, _exmy(_name))
_scale_formats()
register_parser(_parse_bad_element)
