"""Real SmolLM2-135M tiles through the 4x4 MixPE arrays (pipelined column-edge dequant), bit-exact vs spec.gemm.

Activations: the traced inputs of layer-0 ``attn_q`` (first 64 channels of 3 tokens); weights: the model's
stored Q4_1 blocks (first 4 output columns, not requantized), and the same weights requantized at group
size 2 (smaller than the array's rows: two taps per column).
"""

import numpy as np
import pytest

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tile(smollm2_layer0):
    from accel.pe.operands import GroupWeights, from_qtensor
    from workloads.providers import ggml_qtensor

    model, ops = smollm2_layer0
    op = ops["attn_q"]
    gw = from_qtensor(ggml_qtensor(model.weights[op.weight_ref]))
    part = GroupWeights(gw.codes[:64, :4], gw.scales[:2, :4], None, gw.mins[:2, :4], 32, gw.bits, gw.signed, gw.fmt)
    return np.asarray(op.a, dtype=np.float64)[:, :64], part


@pytest.mark.parametrize("text", ["mixpe_w4a8:weight_format=q4_1", "mixpe_w4a16:weight_format=q4_1",
                                  "mixpe_w4a8:weight_format=uint4,group_size=2"])
def test_real_tile_through_mixpe_array(tile, text):
    from accel.design import DequantSpec
    from accel.pe import parse
    from rtl.verify.checks import check_mixpe_array

    A, W = tile
    spec = parse(text)
    if spec.group_size != 32:
        W = W.dequantize()  # requantized by spec.gemm at the spec's group size
    report = check_mixpe_array(spec, 4, A, W, dequant=DequantSpec(throughput_per_cycle=2))
    assert report.ok, report.first_mismatch
    assert report.results == A.shape[0] * 4

