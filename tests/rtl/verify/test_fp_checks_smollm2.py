"""Vectors from a real SmolLM2-135M trace through the FP32-accumulating RTL, bit-exact vs spec.gemm (Icarus).

Activations are the traced inputs of layer-0 GEMMs; fp16_dequant_first multiplies the model's stored
Q4_1 blocks (as the GGUF holds them), minifloat_mac the same weights dequantized and requantized to e4m3.
"""

import numpy as np
import pytest

pytestmark = [pytest.mark.model, pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


def weights(model, op, rows, cols):
    from accel.pe.operands import GroupWeights, from_qtensor
    from workloads.providers import ggml_qtensor

    gw = from_qtensor(ggml_qtensor(model.weights[op.weight_ref]))
    assert gw.fmt == "q4_1" and gw.group_size == 32
    J = rows // 32
    return GroupWeights(gw.codes[:rows, :cols], gw.scales[:J, :cols], None, gw.mins[:J, :cols], 32, gw.bits,
                        gw.signed, gw.fmt)


@pytest.mark.parametrize("text", ["fp16_dequant_first:weight_format=q4_1", "minifloat_mac"])
def test_real_trace_through_the_pe(smollm2_layer0, text, tmp_path):
    from accel.pe import parse
    from rtl.verify.fp_checks import check_fp_gemm

    model, ops = smollm2_layer0
    op = ops["attn_q"]
    A = np.asarray(op.a, dtype=np.float64)[:2]
    part = weights(model, op, A.shape[1], 2)
    W = part if text.startswith("fp16") else part.dequantize()
    report = check_fp_gemm(parse(text), A, W, backend="icarus", workdir=tmp_path)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 4 and A.shape[1] == 576


def test_real_tile_through_the_4x4_array(smollm2_layer0, tmp_path):
    from accel.pe import parse
    from rtl.verify.fp_checks import check_fp_array_gemm

    model, ops = smollm2_layer0
    op = ops["ffn_down"]
    A = np.asarray(op.a, dtype=np.float64)[:3, :64]
    report = check_fp_array_gemm(parse("fp16_dequant_first:weight_format=q4_1"), 4, 4, A, weights(model, op, 64, 4),
                                 backend="icarus", workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.extra["y_mismatches"] == 0
