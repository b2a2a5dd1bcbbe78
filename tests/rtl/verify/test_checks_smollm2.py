"""Vectors from a real SmolLM2-135M trace through the MixPE RTL (PE + FP32 dequant), bit-exact vs spec.gemm.

Activations are the traced inputs of layer-0 GEMMs; weights are the model's stored Q4_1 blocks (as the
GGUF holds them, not requantized), first output columns.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.model


@pytest.mark.parametrize("op_name,cols", [("attn_q", 3), ("ffn_down", 2)])
def test_real_trace_through_mixpe_rtl(smollm2_layer0, op_name, cols):
    from accel.pe import parse
    from accel.pe.operands import GroupWeights, from_qtensor
    from rtl.verify.checks import check_mixpe_gemm
    from workloads.providers import ggml_qtensor

    model, ops = smollm2_layer0
    op = ops[op_name]
    gw = from_qtensor(ggml_qtensor(model.weights[op.weight_ref]))
    assert gw.fmt == "q4_1" and gw.group_size == 32
    part = GroupWeights(gw.codes[:, :cols], gw.scales[:, :cols], None, gw.mins[:, :cols], 32, gw.bits, gw.signed,
                        gw.fmt)
    A = np.asarray(op.a, dtype=np.float64)[:2]
    report = check_mixpe_gemm(parse("mixpe_w4a8:weight_format=q4_1"), A, part)
    assert report.ok, (report.first_mismatch, report.extra)
    assert report.results == 2 * cols


@pytest.mark.parametrize("text", ["int8_mac", "minifloat_mac:accumulate=kulisch"])
def test_real_trace_through_element_pe(smollm2_layer0, text):
    """Layer-0 ``attn_q`` dot products (2 tokens x 2 output channels, K = 576) through the INT8 and Kulisch
    FP8 PEs: the spec's own quantizers make the operands, the golden integer core the expected sums."""
    from accel.pe import parse
    from accel.pe.elementwise import element_format, scaled_operands
    from rtl.verify.checks import check_pe
    from workloads.providers import ggml_qtensor

    model, ops = smollm2_layer0
    op = ops["attn_q"]
    A = np.asarray(op.a, dtype=np.float64)[:2]
    W = ggml_qtensor(model.weights[op.weight_ref]).dequantize()[:, :2]
    spec = parse(text)
    if spec.name == "int8_mac":
        parts = spec.integer_parts(A, W)
        qa, qw = parts["qa"], parts["qw"]
    else:
        va, _, vw, _ = scaled_operands(A, W, spec.act_format, spec.weight_format)
        qa = element_format(spec.act_format).encode(va).astype(np.int64)
        qw = element_format(spec.weight_format).encode(vw).astype(np.int64)
    M, N = qa.shape[0], qw.shape[1]
    ga = np.repeat(qa, N, axis=0)  # group j = (token j // N, channel j % N)
    gw = np.tile(qw.T, (M, 1))
    report = check_pe(spec, [(ga, gw)])
    assert report.ok, report.first_mismatch
    assert report.results == M * N
