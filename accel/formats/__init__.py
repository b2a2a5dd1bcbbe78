"""Bit-exact number formats and quantization schemes, one registry of names.

``get(name)`` returns an element format (``IntFormat``, ``FloatFormat``: ``.encode``/``.decode``) or a
shared-scale scheme (``GroupScheme``, ``MXFormat``, ``BFPFormat``, ``GGMLFormat``: used through
``accel.quant.quantize``); ``names()`` lists every registered name.
"""

from accel.formats.blocks import BFPFormat, Blocks, GroupScheme, MXFormat
from accel.formats.element import CLASSES, ElementFormat
from accel.formats.ggml import GGMLFormat
from accel.formats.integer import IntFormat
from accel.formats.minifloat import SPECIALS, FloatFormat
from accel.formats.registry import get, names
from accel.formats.rounding import ROUNDING_MODES

__all__ = ["BFPFormat", "Blocks", "CLASSES", "ElementFormat", "FloatFormat", "GGMLFormat", "GroupScheme",
           "IntFormat", "MXFormat", "ROUNDING_MODES", "SPECIALS", "get", "names"]
