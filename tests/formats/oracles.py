"""gfloat descriptions of our formats (gfloat implements the semantics; we only name the parameters).

Parameters come from outside the code under test: gfloat's ready-made formats, the Brevitas eXmY rule of
REFERENCE.md section 1 read from the name, or (for the other ml_dtypes names) the format's own fields, which
test_elements_exhaustive checks code by code against ml_dtypes first.
"""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
from gfloat import Domain, FormatInfo, RoundMode
from gfloat import formats as gf

import accel.formats as F

#: Our rounding names -> gfloat's.
GFLOAT_ROUND = {"nearest_even": RoundMode.TiesToEven, "nearest_away": RoundMode.TiesToAway,
                "toward_zero": RoundMode.TowardZero, "stochastic": RoundMode.Stochastic}

#: Formats gfloat ships ready-made.
GFLOAT_BUILTIN = {"float8_e4m3fn": gf.format_info_ocp_e4m3, "float8_e5m2": gf.format_info_ocp_e5m2,
                  "float6_e2m3fn": gf.format_info_ocp_e2m3, "float6_e3m2fn": gf.format_info_ocp_e3m2,
                  "float4_e2m1fn": gf.format_info_ocp_e2m1, "float8_e8m0fnu": gf.format_info_ocp_e8m0,
                  "e8m0": gf.format_info_ocp_e8m0, "fp16": gf.format_info_binary16,
                  "bf16": gf.format_info_bfloat16, "fp32": gf.format_info_binary32}

#: ml_dtypes types for our names.
ML_DTYPES = {name: getattr(ml_dtypes, name) for name in F.elements.ML_DTYPES_FLOATS}
ML_DTYPES.update({"fp16": np.float16, "bf16": ml_dtypes.bfloat16, "fp32": np.float32})


def brevitas_info(name: str) -> FormatInfo | None:
    """``eXmY`` (REFERENCE.md: sign, IEEE bias 2^(X-1) - 1, subnormals, no Inf/NaN codes), or None."""
    m = re.fullmatch(r"e(\d+)m(\d+)", name)
    if m is None:
        return None
    e, mb = int(m[1]), int(m[2])
    return FormatInfo(name, k=1 + e + mb, precision=mb + 1, bias=2 ** (e - 1) - 1, is_signed=True,
                      domain=Domain.Finite, has_nz=True, num_high_nans=0, has_subnormals=True,
                      is_twos_complement=False)


def gfloat_info(fmt: F.FloatFormat) -> FormatInfo:
    """A gfloat FormatInfo with the same parameters (ready-made where gfloat has one)."""
    if fmt.name in GFLOAT_BUILTIN:
        return GFLOAT_BUILTIN[fmt.name]
    if (info := brevitas_info(fmt.name)) is not None:
        return info
    ieee = fmt.specials == "ieee"
    return FormatInfo(fmt.name, k=fmt.bits, precision=fmt.mbits + 1, bias=fmt.bias, is_signed=fmt.signed,
                      domain=Domain.Extended if ieee else Domain.Finite,
                      has_nz=fmt.specials != "fnuz",
                      num_high_nans={"ieee": 2**fmt.mbits - 1, "fn": 1, "fnuz": 0, "finite": 0}[fmt.specials],
                      has_subnormals=fmt.subnormals, is_twos_complement=False)


def small_float_names() -> list[str]:
    return [n for n in F.names() if isinstance(F.get(n), F.FloatFormat) and F.get(n).bits <= 8]
