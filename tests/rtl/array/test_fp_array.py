"""The FP32 weight-stationary array (rtl.array.fp_array) vs spec.gemm and the simulator's latency (Amaranth)."""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.verify.fp_checks import check_fp_array_gemm, fp_array, gemm_operands, golden_dots
from sim.array_timing import tile_latency_cycles
from tests.rtl.cases import FP_E4M3, FP_FP4_INT4

pytestmark = pytest.mark.amaranth

CASES = [  # spec, rows, cols, M, K, N (odd shapes: K and N padded to whole folds and tiles)
    (FP_E4M3, 3, 2, 3, 7, 3),
    (FP_FP4_INT4, 2, 2, 2, 4, 2),
    ("fp16_dequant_first:group_size=4", 2, 3, 2, 8, 3),
    ("fp16_dequant_first:weight_format=uint4,group_size=2", 1, 1, 2, 4, 1),
]


def operands(M, K, N, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((M, K)) * np.exp(rng.standard_normal((M, K))), rng.standard_normal((K, N))


@pytest.mark.parametrize("text,rows,cols,M,K,N", CASES)
def test_gemm_bit_exact_and_fold_latency_equals_sim(text, rows, cols, M, K, N):
    spec = parse(text)
    A, W = operands(M, K, N)
    report = check_fp_array_gemm(spec, rows, cols, A, W)
    assert report.ok, report.first_mismatch
    assert report.extra["y_mismatches"] == 0 and report.results == M * N * -(-K // rows)
    design = Design(pe=spec, array=ArraySpec(rows=rows, cols=cols, dataflow="ws"))
    folds = -(-K // rows) * -(-N // cols)
    assert report.extra["latency_cycles"] == [tile_latency_cycles(design, M, cols, rows)] * folds


def test_chaining_the_arrays_own_sums_gives_the_golden_k_order_sum():
    """Fold 2 adds onto fold 1's RTL outputs (not the golden's) and scales on the last fold: spec.gemm's Y bits."""
    from rtl.verify.bench import run_cycles

    spec = parse(FP_E4M3)
    R, C, M = 2, 2, 3
    A, W = operands(M, 2 * R, C, seed=4)
    ops = gemm_operands(spec, A, W)
    dut = fp_array(spec, R, C)
    psum = [[0] * C for _ in range(M)]
    for f in range(2):
        k0 = f * R
        cycles = [{"wl": ops["wl"][k0 + r]} for r in reversed(range(R))]
        cycles[0]["ws"] = [int(x) for x in ops["weight_scale"]]  # each run starts from reset
        cycles += [{"a": {"x": [int(x) for x in ops["a"][i, k0:k0 + R]], "psum": psum[i],
                          "act_scale": int(ops["act_scale"][i]), "last": f}} for i in range(M)]
        psum = [p["y"] for _, p in run_cycles(dut, "fparr", cycles, ["o"], drain=R + C + 2)["outputs"]["o"]]
        if f == 0:
            fold1 = np.array(psum)
    want1 = np.stack([golden_dots(ops["va"][:, :R], np.broadcast_to(ops["vw"][:R, c], (M, R))) for c in range(C)], 1)
    assert np.array_equal(fold1, want1)
    assert np.array_equal(np.array(psum), ops["Y"])  # fold 2 on the RTL's own sums, output scaled in RTL
