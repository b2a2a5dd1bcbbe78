"""Every variant's output stays within the error bound derived from its formats (accel.pe.bounds)."""

import numpy as np
import pytest

import accel.pe as pe
from accel.pe.bounds import lmul_max_rel_error

pytestmark = pytest.mark.unit

SPECS = ["mixpe_w4a8", "mixpe_w4a8:weight_format=uint4", "mixpe_w4a8:weight_format=q4_0",
         "mixpe_w4a8:weight_format=q4_1", "int8_mac", "fp16_dequant_first", "fp16_dequant_first:weight_format=q4_1",
         "mixpe_w4a16:weight_format=uint4", "mixpe_w4a16:weight_format=q4_0", "minifloat_mac",
         "minifloat_mac:accumulate=kulisch,act_format=e5m2,weight_format=float6_e2m3fn",
         "minifloat_mac:act_format=float4_e2m1fn,weight_format=int4", "block_mac",
         "block_mac:act_format=mxfp4,weight_format=mxfp4", "block_mac:act_format=bfp16_b32,weight_format=bfp12_b32",
         "lmul", "lmul:realisation=adder,act_format=e3m4,weight_format=e3m4",
         # dequant placements other than the variant's default
         "mixpe_w4a16:dequant=in_loop", "mixpe_w4a16:weight_format=q4_1,dequant=in_loop",
         "int8_mac:group_size=32,dequant=per_group", "int8_mac:weight_bits=4,group_size=16,dequant=per_group"]


def _data(kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.standard_normal((12, 96)), rng.standard_normal((96, 7)) * 0.05
    A = rng.standard_t(2, (12, 96))
    A[:, 5] *= 300  # an outlier channel, as in LLM activations
    A[0, 0] = 1e6  # beyond FP16: saturates
    A[1, :3] = [1e-7, -3e-6, 2e-9]  # FP16 subnormals and underflow
    return A, rng.standard_t(3, (96, 7)) * 0.05


@pytest.mark.parametrize("text", SPECS)
@pytest.mark.parametrize("kind", ["normal", "heavy"])
def test_output_within_format_derived_bound(text, kind):
    spec = pe.parse(text)
    A, W = _data(kind, seed=len(text))
    y, _ = spec.gemm(A, W)
    b = spec.error_bound(A, W)
    ratio = np.abs(y - b["ref"]) / b["bound"]
    assert np.all(ratio <= 1.0)
    assert ratio.max() > 0.01  # the bound is not vacuous


def test_lmul_max_relative_error_by_enumeration():
    # formula: (1 + x + y + 2^-l) vs (1 + x)(1 + y): error 2^-l at x = y = 0, and at x = y = 1 - 2^-m it
    # misses most of the x y term: |3 - 2^(1-m) + 2^-l - (2 - 2^-m)^2| / (2 - 2^-m)^2
    for m in range(2, 8):
        rho = lmul_max_rel_error(m, "formula")
        top = 2 - 2.0**-m
        corner = abs(3 - 2.0 ** (1 - m) + 2.0 ** -{2: 2, 3: 3, 4: 3}.get(m, 4) - top**2) / top**2
        assert rho >= max(2.0 ** -{2: 2, 3: 3, 4: 3}.get(m, 4), corner) and rho <= 0.25
        assert lmul_max_rel_error(m, "adder") <= rho
