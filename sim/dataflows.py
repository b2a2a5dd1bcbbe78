"""Dataflows, one class each: how a GEMM Y[M,N] = A[M,K] @ W[K,N] maps onto an R x C systolic array.

A dataflow says which operand stays in the PEs while the others stream.  The simulator asks the object that
:func:`get` returns for ``design.array.dataflow`` instead of comparing names: whether a stationary operand is
written into the PE registers before each fold (``preloads``; else the outputs stay and K streams), whether the
product is planned transposed, the shape of one fold, and SCALE-Sim 3.0.0's closed-form cycles.  Input
stationary is weight stationary on the transposed product Y^T = W^T A^T.
"""

from __future__ import annotations

from typing import ClassVar

from accel.errors import ConfigError

__all__ = ["Dataflow", "WeightStationary", "InputStationary", "OutputStationary", "DATAFLOWS", "get"]


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


class Dataflow:
    """One mapping of a GEMM onto the array (subclasses set the class attributes)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    #: A stationary operand is written into the PE registers (through the weight-write bus) before each fold
    #: and the other operand streams through; otherwise the outputs stay in the PEs and K streams.
    preloads: ClassVar[bool]
    #: The operand the PEs hold (``accel.activity.OPERANDS`` name); None when the outputs stay instead.
    stationary: ClassVar[str | None]
    #: Planned as the transposed product Y^T = W^T A^T (the roles of M and N exchanged).
    transposed: ClassVar[bool] = False

    def oriented(self, m, n):
        """``(m, n)`` in the roles this dataflow plans them (exchanged when transposed)."""
        return (n, m) if self.transposed else (m, n)

    def fold_dims(self, m: int, kp: int, n: int) -> tuple[int, int, int]:
        """(stream, depth, width) of one fold computing m x n outputs over ``kp`` packed K steps: the streamed
        length, and the rows and columns of the array it occupies."""
        raise NotImplementedError

    def dim_names(self) -> tuple[str, str]:
        """What the fold's depth and width count (for messages)."""
        raise NotImplementedError

    def scalesim_cycles(self, m: int, n: int, k: int, rows: int, cols: int) -> int:
        """SCALE-Sim 3.0.0's compute cycles for the GEMM (CALC bandwidth: no stalls, no overlap of folds)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WeightStationary(Dataflow):
    name = "ws"
    stationary = "weight"
    summary = "weights stay in the PEs (K down the rows, N across the columns); rows of A stream through"
    preloads = True

    def fold_dims(self, m: int, kp: int, n: int) -> tuple[int, int, int]:
        m, n = self.oriented(m, n)
        return m, kp, n

    def dim_names(self) -> tuple[str, str]:
        return "k (packed)", self.oriented("m", "n")[1]

    def scalesim_cycles(self, m: int, n: int, k: int, rows: int, cols: int) -> int:
        m, n = self.oriented(m, n)
        return _cdiv(k, rows) * _cdiv(n, cols) * (m + 2 * rows + cols - 2) - 1


class InputStationary(WeightStationary):
    name = "is"
    stationary = "input"
    summary = "inputs stay in the PEs: weight stationary on the transposed product W^T A^T"
    transposed = True


class OutputStationary(Dataflow):
    name = "os"
    stationary = None
    summary = "outputs stay in the PEs (M down the rows, N across the columns); A and W stream along K"
    preloads = False

    def fold_dims(self, m: int, kp: int, n: int) -> tuple[int, int, int]:
        return kp, m, n

    def dim_names(self) -> tuple[str, str]:
        return "m", "n"

    def scalesim_cycles(self, m: int, n: int, k: int, rows: int, cols: int) -> int:
        return _cdiv(m, rows) * _cdiv(n, cols) * (k + rows + cols - 2) - 1


#: Every dataflow by name, in the order of ``accel.design.DATAFLOWS`` (the names a design file accepts).
DATAFLOWS: dict[str, Dataflow] = {d.name: d for d in (WeightStationary(), OutputStationary(), InputStationary())}


def get(name: str) -> Dataflow:
    """The dataflow named ``name``; ConfigError listing the valid names otherwise."""
    try:
        return DATAFLOWS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {name!r}") from None
