"""Golden, bit-exact models of the PE variants: one definition the simulator, accuracy and RTL share.

``get(name, **params)``, ``names()``, ``parse("NAME[:key=value,...]" or a YAML mapping)``; every spec has
``gemm(A, W) -> (Y, Activity)`` and ``activity_for(m, n, k)`` (see docs/contracts.md).
"""

from accel.pe import block, intmac, minifloat, mixpe  # noqa: F401  (registers the variants)
from accel.pe.base import PESpec, get, names, parse, variant

__all__ = ["PESpec", "get", "names", "parse", "variant"]
