"""Pipeline registers at chosen boundaries of a combinational datapath.

A datapath builder calls :meth:`Cuts.cut` at each of its candidate boundaries, in build order, with the
values that cross it.  A chosen boundary registers them (and every *passenger*: values the caller
carries past the datapath, such as valid flags); the others pass them through, so no chosen cut
builds exactly the combinational datapath.  One-bit registers reset (flags), wider ones do not (data).
:func:`choose_cuts` picks the boundaries from estimated
segment depths so that the deepest stage is as shallow as possible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from amaranth.hdl import Module, Signal, Value

from accel.errors import ConfigError


def choose_cuts(depths: Sequence[int], registers: int) -> frozenset[int]:
    """Boundaries (1 .. len(depths) - 1: boundary i sits after segment i - 1) for ``registers`` registers
    that minimise the deepest stage (ties: the earliest cuts); at most one register per boundary."""
    n = len(depths)
    if not (isinstance(registers, int) and 0 <= registers <= n - 1):
        raise ConfigError(f"a datapath of {n} segments takes 0..{n - 1} pipeline registers, got {registers!r}")
    if registers == 0:
        return frozenset()
    prefix = [0]
    for d in depths:
        prefix.append(prefix[-1] + d)
    # best[k][i]: minimal deepest stage for segments 0..i-1 split into k + 1 stages; arg: last cut
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(registers + 1)]
    arg = [[0] * (n + 1) for _ in range(registers + 1)]
    for i in range(1, n + 1):
        best[0][i] = prefix[i]
    for k in range(1, registers + 1):
        for i in range(k + 1, n + 1):
            for j in range(k, i):
                v = max(best[k - 1][j], prefix[i] - prefix[j])
                if v < best[k][i]:
                    best[k][i], arg[k][i] = v, j
    cuts, i = [], n
    for k in range(registers, 0, -1):
        i = arg[k][i]
        cuts.append(i)
    return frozenset(cuts)


class Cuts:
    """The boundaries of one datapath that get a register (see the module docstring).

    ``chosen``: indices of the chosen boundaries, counted from 1 in the order :meth:`cut` is called.
    """

    def __init__(self, m: Module, chosen: Iterable[int] = (), name: str = "pipe", passengers: dict | None = None):
        self.m, self.chosen, self.name = m, frozenset(chosen), name
        self.passengers = dict(passengers or {})
        self.boundaries = 0  # boundaries passed so far
        self.registers = 0  # registers placed so far

    def _reg(self, v, tag: str):
        v = Value.cast(v)
        r = Signal(v.shape(), name=f"{self.name}_{self.boundaries}_{tag}", reset_less=len(v) > 1)
        self.m.d.sync += r.eq(v)
        return r

    def cut(self, *values):
        """``values`` after boundary number ``self.boundaries + 1``: registered if it is chosen (a tuple)."""
        self.boundaries += 1
        if self.boundaries not in self.chosen:
            return values
        self.registers += 1
        self.passengers = {k: self._reg(v, k) for k, v in self.passengers.items()}
        return tuple(self._reg(v, f"v{i}") for i, v in enumerate(values))


def cut(pipe: Cuts | None, *values):
    """:meth:`Cuts.cut`, or ``values`` unchanged without a pipe."""
    return values if pipe is None else pipe.cut(*values)


def delay(m: Module, values: dict, cycles: int, name: str) -> dict:
    """``values`` after ``cycles`` plain registers (one-bit flags reset, wider values do not)."""
    for i in range(cycles):
        nxt = {}
        for k, v in values.items():
            v = Value.cast(v)
            r = Signal(v.shape(), name=f"{name}_{i}_{k}", reset_less=len(v) > 1)
            m.d.sync += r.eq(v)
            nxt[k] = r
        values = nxt
    return values


def split(depths: Sequence[int], registers: int) -> tuple[frozenset[int], int]:
    """(cuts inside a datapath of ``depths`` segments, registers left over for after it)."""
    inside = min(registers, len(depths) - 1)
    return choose_cuts(depths, inside), registers - inside


def carrying(pipe: Cuts | None, values: dict, build):
    """``build()`` with ``values`` registered at every cut it makes: returns (its result, ``values`` after)."""
    if pipe is None:
        return build(), values
    tag = f"_ride{len(pipe.passengers)}_"
    pipe.passengers.update({tag + k: v for k, v in values.items()})
    out = build()
    return out, {k: pipe.passengers.pop(tag + k) for k in values}
