"""Vectors from a real SmolLM2-135M trace through the block_mac and lmul RTL (PEs, block_mac array), bit-exact
vs ``spec.gemm``.

Activations are the traced inputs of layer-0 GEMMs; weights are the model's Q4_1 tensors dequantized
(first output columns), requantized by each spec's own quantizer inside ``gemm`` as the PE would see them.
"""

import numpy as np
import pytest

pytestmark = [pytest.mark.model, pytest.mark.amaranth]


def _operands(smollm2_layer0, op_name, rows, cols):
    from workloads.providers import ggml_qtensor

    model, ops = smollm2_layer0
    op = ops[op_name]
    W = ggml_qtensor(model.weights[op.weight_ref]).dequantize()[:, :cols]
    return np.asarray(op.a, dtype=np.float64)[:rows], W


@pytest.mark.parametrize("text,op_name,rows,cols", [
    ("block_mac", "attn_q", 2, 3),
    ("block_mac:act_format=bfp16_b32,weight_format=bfp12_b32", "ffn_down", 1, 2),
])
def test_real_trace_through_block_mac_rtl(smollm2_layer0, text, op_name, rows, cols):
    from accel.pe import parse
    from rtl.verify.block_checks import check_block_gemm

    A, W = _operands(smollm2_layer0, op_name, rows, cols)
    report = check_block_gemm(parse(text), A, W)
    assert report.ok, report.first_mismatch
    assert report.results == rows * cols


def test_real_tile_through_block_mac_array(smollm2_layer0):
    """A real ffn_up tile (K = 576: 18 MXFP8 blocks, 72 folds) on an 8x4 block_mac array."""
    from accel.pe import parse
    from rtl.verify.block_checks import check_block_array_gemm

    A, W = _operands(smollm2_layer0, "ffn_up", 2, 4)
    report = check_block_array_gemm(parse("block_mac"), 8, A, W)
    assert report.ok, report.first_mismatch
    assert report.results == 8


@pytest.mark.parametrize("text", ["lmul", "lmul:realisation=adder"])
def test_real_trace_through_lmul_rtl(smollm2_layer0, text):
    from accel.pe import parse
    from rtl.verify.block_checks import check_lmul_gemm

    A, W = _operands(smollm2_layer0, "attn_k", 1, 2)
    report = check_lmul_gemm(parse(text), A, W)
    assert report.ok, report.first_mismatch
    assert report.results == 2
