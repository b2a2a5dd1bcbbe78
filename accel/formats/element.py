"""What every element format shares: code enumeration and value classes."""

from __future__ import annotations

import functools

import numpy as np

from accel.errors import FormatError

#: Value classes, as ``accel formats show`` prints them.
CLASSES = ("zero", "subnormal", "normal", "inf", "nan")


def code_dtype(bits: int) -> np.dtype:
    """The narrowest unsigned dtype that holds a ``bits``-bit code."""
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.dtype(dt).itemsize * 8:
            return np.dtype(dt)
    raise ValueError(f"no code dtype for {bits} bits")


class ElementFormat:
    """Mixin for formats whose values are individually coded in ``bits`` bits."""

    name: str
    bits: int

    @property
    def code_dtype(self) -> np.dtype:
        return code_dtype(self.bits)

    def codes(self) -> np.ndarray:
        """Every code of the format, ascending (only sensible for small formats)."""
        return np.arange(2**self.bits, dtype=np.uint64).astype(self.code_dtype)

    def _decode_formula(self, codes) -> np.ndarray:
        raise NotImplementedError

    @functools.cached_property
    def _table(self) -> np.ndarray:
        return self._decode_formula(np.arange(2**self.bits, dtype=np.uint64))

    def decode(self, codes) -> np.ndarray:
        """Values (float64) of integer ``codes`` (a table lookup for formats of up to 16 bits)."""
        c = np.asarray(codes)
        if self.bits > 16:
            return self._decode_formula(c)
        if c.dtype.kind not in "ui":
            raise FormatError(f"{self.name}: codes must be integers, got dtype {c.dtype!r}; valid choices: "
                              f"integer arrays of codes 0..{2**self.bits - 1}")
        if not (c.dtype.kind == "u" and c.dtype.itemsize * 8 <= self.bits) and c.size:
            if c.min() < 0 or c.max() >= 2**self.bits:
                bad = c[(c < 0) | (c >= 2**self.bits)].ravel()[0]
                raise FormatError(f"{self.name}: code {int(bad)!r} does not fit in {self.bits} bits; "
                                  f"valid codes: 0..{2**self.bits - 1}")
        return self._table[c]

    def classify(self, codes) -> np.ndarray:
        """The class name (see CLASSES) of each code."""
        raise NotImplementedError

    def table(self) -> list[dict]:
        """Every code with its value and class: what ``accel formats show`` prints."""
        codes = self.codes()
        values = self.decode(codes)
        classes = self.classify(codes)
        width = (self.bits + 3) // 4
        return [{"code": int(c), "hex": f"0x{int(c):0{width}x}", "bits": f"{int(c):0{self.bits}b}",
                 "value": float(v), "class": str(k)} for c, v, k in zip(codes, values, classes, strict=True)]
