"""Activity counts: how many hardware operations of each kind and width a computation performs.

One key syntax for every producer (golden PEs, simulator) and consumer (cost models):
``"<kind>:<operand>x<operand>..."`` where each operand is a bit width (``8``) or a format tag
(``fp16``, ``e4m3``).  Examples: ``int_mul:8x4``, ``shift_add_mul:8x4``, ``int_add:20``,
``fp_mul:fp16xfp16``, ``fp_add:fp32``, ``exp_add:5``, ``dequant_mul:fp32``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from accel.errors import ConfigError

#: Every activity kind, with what one count of it means.  Cost models price exactly these.
KINDS: dict[str, str] = {
    "int_mul": "integer multiply, operands a x b bits (array multiplier)",
    "shift_add_mul": "integer multiply realised by shifting and adding the weight's bits",
    "int_add": "integer add/accumulate of the given width",
    "fp_mul": "floating-point multiply of the given operand formats",
    "fp_add": "floating-point add of the given format",
    "exp_add": "exponent add (multiply by a power of two) of the given exponent width",
    "lmul_add": "L-Mul: one integer add over the exponent|mantissa fields of the given width",
    "kulisch_add": "add into an exact fixed-point (Kulisch) accumulator of the given width",
    "dequant_mul": "dequantization multiply (scale) in the given format",
    "dequant_add": "dequantization add (zero point / min correction) in the given format",
    "cmp": "comparison of the given width (block max for MX/BFP)",
    "shift": "barrel shift of the given width (alignment, block exponents)",
    "acc_overflow": "accumulator overflow events (saturated or wrapped) at the given width",
    "convert": "format conversion (e.g. int to float) of the given width",
}


def key(kind: str, *operands: int | str) -> str:
    """Build an activity key, e.g. ``key("int_mul", 8, 4) == "int_mul:8x4"``."""
    if kind not in KINDS:
        raise ConfigError(f"unknown activity kind {kind!r}; valid kinds: {', '.join(sorted(KINDS))}")
    if not operands:
        raise ConfigError(f"activity kind {kind!r} needs at least one operand width or format")
    return kind + ":" + "x".join(str(o) for o in operands)


def parse_key(k: str) -> tuple[str, tuple[str, ...]]:
    """Split ``"int_mul:8x4"`` into ``("int_mul", ("8", "4"))``."""
    kind, sep, rest = k.partition(":")
    if not sep or kind not in KINDS or not rest:
        raise ConfigError(f"malformed activity key {k!r}; expected '<kind>:<operand>[x<operand>...]' "
                          f"with kind in {sorted(KINDS)}")
    return kind, tuple(rest.split("x"))


class Activity(Counter):
    """A ``Counter`` of activity keys to non-negative integer counts."""

    def add(self, kind: str, *operands: int | str, count: int = 1) -> None:
        if count:
            self[key(kind, *operands)] += int(count)

    def scaled(self, factor: int) -> Activity:
        return Activity({k: v * int(factor) for k, v in self.items()})

    @classmethod
    def merge(cls, parts: Iterable[Mapping[str, int]]) -> Activity:
        total = cls()
        for p in parts:
            total.update(p)
        return total

    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.items())}


#: The operands a run's memory traffic is counted by: stationary weights, streamed inputs, outputs, the KV cache.
OPERANDS = ("weight", "input", "output", "kv")


@dataclass(frozen=True)
class ActivityTotals:
    """What a simulated run used, as the simulator hands it to the cost model (every instance counted):
    activity counts, cycles, MACs, and bits moved per operand (:data:`OPERANDS`) between the array and the
    SRAM buffers and between the buffers and DRAM."""

    activity: Activity
    cycles: int
    macs: int
    sram_bits_by_operand: Mapping[str, float]
    dram_bits_by_operand: Mapping[str, float]

    def __post_init__(self) -> None:
        for what in ("sram_bits_by_operand", "dram_bits_by_operand"):
            bad = [k for k in getattr(self, what) if k not in OPERANDS]
            if bad:
                raise ConfigError(f"{what} has unknown operand {bad[0]!r}; valid: {', '.join(OPERANDS)}")

    @property
    def dram_bits(self) -> int:
        return sum(int(v) for v in self.dram_bits_by_operand.values())


class ReportsTotals(Protocol):
    """A simulator result: it reports its :class:`ActivityTotals`."""

    def totals(self) -> ActivityTotals: ...
