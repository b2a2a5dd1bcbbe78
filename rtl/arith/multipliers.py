"""Combinational integer arithmetic builders (Amaranth expressions), parametric in operand shapes.

``shift_add_product`` is MixPE's multiplier: the weight's bits select shifted copies of the
activation, which are added (the two's-complement sign bit of a signed weight subtracts its copy).
``array_product`` is Amaranth's ``*`` (Yosys maps it to a multiplier or DSP).  Both are exact: the
result shape holds every product of the operand shapes.
"""

from __future__ import annotations

from amaranth.hdl import Const, Mux, Shape, Value, signed, unsigned

MULTIPLIERS = ("array", "shift_add")


def product_shape(a_shape: Shape, w_shape: Shape) -> Shape:
    """Shape holding every product of ``a_shape`` x ``w_shape`` exactly."""
    a_shape, w_shape = Shape.cast(a_shape), Shape.cast(w_shape)
    width = a_shape.width + w_shape.width
    return signed(width) if (a_shape.signed or w_shape.signed) else unsigned(width)


def shift_add_product(a: Value, w: Value) -> Value:
    """``a * w`` as a sum of shifted copies of ``a`` selected by the bits of ``w`` (no multiplier)."""
    a, w = Value.cast(a), Value.cast(w)
    shape = product_shape(a.shape(), w.shape())
    a_ext = a.as_signed() if a.shape().signed else a
    terms = []
    for i in range(len(w)):
        term = Mux(w[i], a_ext.shift_left(i), Const(0, shape))
        negative = w.shape().signed and i == len(w) - 1
        terms.append(-term if negative else term)
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total.as_signed()[:shape.width].as_signed() if shape.signed else total[:shape.width]


def array_product(a: Value, w: Value) -> Value:
    """``a * w`` with Amaranth's multiply operator."""
    a, w = Value.cast(a), Value.cast(w)
    shape = product_shape(a.shape(), w.shape())
    p = a * w
    return p[:shape.width].as_signed() if shape.signed else p[:shape.width]


def product(a: Value, w: Value, multiplier: str) -> Value:
    """Dispatch on ``multiplier`` (one of :data:`MULTIPLIERS`)."""
    if multiplier == "shift_add":
        return shift_add_product(a, w)
    if multiplier == "array":
        return array_product(a, w)
    from accel.errors import ConfigError

    raise ConfigError(f"unknown multiplier {multiplier!r}; valid: {', '.join(MULTIPLIERS)}")
