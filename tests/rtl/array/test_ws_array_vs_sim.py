"""The RTL array's fold latency equals the simulator's ``sim.array_timing.tile_latency_cycles``.

Both count from the cycle in which the fold's first activation row is presented at the array edge
(weights already loaded) through, inclusive, the first cycle in which its last output is valid.
Full folds (k = rows, n = cols): the RTL de-skews outputs to the full array width, so partial folds
(n < cols) would leave the RTL later than the simulator's bottom-edge count.
"""

import numpy as np
import pytest

from accel.design import ArraySpec, Design
from accel.pe import parse
from rtl.verify.checks import check_array
from sim.array_timing import tile_latency_cycles

pytestmark = pytest.mark.amaranth

CASES = [(4, 4, 1), (4, 4, 5), (4, 4, 33), (3, 5, 7), (1, 1, 1), (2, 7, 4), (6, 2, 10)]


@pytest.mark.parametrize("rows,cols,m", CASES)
def test_fold_latency_equals_sim(rows, cols, m):
    spec = parse("mixpe_w4a8:weight_format=q4_1")
    design = Design(pe=spec, array=ArraySpec(rows=rows, cols=cols, dataflow="ws"))
    rng = np.random.default_rng(m)
    tiles = [(rng.integers(-128, 128, (m, rows)), rng.integers(0, 16, (rows, cols))) for _ in range(2)]
    report = check_array(spec, rows, cols, tiles)
    assert report.ok, report.first_mismatch
    want = tile_latency_cycles(design, m, cols, rows)
    assert report.extra["latency_cycles"] == [want, want]
