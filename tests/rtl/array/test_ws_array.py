"""Weight-stationary array RTL vs the golden group core, in Amaranth's simulator."""

import numpy as np
import pytest

from accel.pe import parse
from rtl.config import operand_ranges
from rtl.verify.checks import check_array

pytestmark = pytest.mark.amaranth

ARRAY_SPECS = ["int8_mac", "mixpe_w4a8:weight_format=uint4,group_size=4", "mixpe_w4a8:weight_format=q4_1"]
SHAPES = [(4, 4), (3, 5), (1, 1), (2, 7)]


def tiles_for(spec, rows, cols, seed=0):
    (alo, ahi), (wlo, whi) = operand_ranges(spec)
    rng = np.random.default_rng(seed)
    tiles = [(rng.integers(alo, ahi + 1, (9, rows)), rng.integers(wlo, whi + 1, (rows, cols)))]
    tiles += [(np.full((2, rows), a), np.full((rows, cols), w)) for a in (alo, ahi, 0) for w in (wlo, whi)]
    return tiles


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("text", ARRAY_SPECS)
def test_array_tiles_bit_exact(text, shape):
    spec = parse(text)
    rows, cols = shape
    report = check_array(spec, rows, cols, tiles_for(spec, rows, cols))
    assert report.ok, report.first_mismatch
    assert report.results == (9 + 2 * 6) * cols


def test_array_folds_equal_the_specs_group_sums():
    """Two folds of a K = 8 GEMM on a 4x4 array equal ``spec.integer_parts`` P[j] and S_a[j] (g = 4)."""
    from accel.pe.operands import GroupWeights
    from rtl.array.ws_array import WSArray
    from rtl.config import has_act_sum, mac_config
    from rtl.verify.bench import run_cycles
    from rtl.verify.checks import array_cycles

    spec = parse("mixpe_w4a8:weight_format=uint4,group_size=4")
    rng = np.random.default_rng(5)
    M, K, N = 6, 8, 4
    qa = rng.integers(-127, 128, (M, K))
    qa[:, 0] = 127  # unit per-token scales: the spec's quantizer keeps these codes
    qw = rng.integers(0, 16, (K, N))
    gw = GroupWeights(qw, np.ones((2, N)), rng.integers(0, 16, (2, N)), None, 4, 4, False, spec.weight_scheme)
    parts = spec.integer_parts(qa.astype(np.float64), gw)
    dut = WSArray(mac_config(spec), 4, N, act_sum=has_act_sum(spec))
    cycles, _ = array_cycles([(qa[:, 4 * j:4 * j + 4], qw[4 * j:4 * j + 4]) for j in range(2)])
    got = [p for _, p in run_cycles(dut, "arr", cycles, ["o"])["outputs"]["o"]]
    assert [p["y"] for p in got] == np.concatenate([parts["P"][0], parts["P"][1]]).tolist()
    assert [p["act_sum"] for p in got] == np.concatenate([parts["Sa"][0], parts["Sa"][1]]).tolist()
