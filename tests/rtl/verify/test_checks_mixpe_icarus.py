"""The generated Verilog of the MixPE arrays under cocotb + Icarus: groups smaller than the rows (taps), W4A16,
a pipelined dequant unit; bit-exact vs ``spec.gemm`` and cycle counts equal to the simulator's."""

import numpy as np
import pytest

from accel.design import ArraySpec, DequantSpec, Design
from accel.pe import parse
from rtl.verify.checks import check_mixpe_array
from sim.array_timing import tile_latency_cycles

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


@pytest.mark.parametrize("text,latency,m", [("mixpe_w4a8:weight_format=uint4,group_size=2", 4, 9),
                                            ("mixpe_w4a16:weight_format=q4_1", 3, 4)])
def test_mixpe_4x4_array_bit_exact_and_cycles_equal_sim(text, latency, m, tmp_path):
    spec = parse(text)
    dq = DequantSpec(latency_cycles=latency, throughput_per_cycle=2)
    design = Design(pe=spec, array=ArraySpec(rows=4, cols=4, dataflow="ws"), dequant=dq)
    rng = np.random.default_rng(11)
    K = 2 * max(spec.group_size, 4)
    A = rng.standard_normal((m, K)) * np.exp(rng.standard_normal((m, K)))
    report = check_mixpe_array(spec, 4, A, rng.standard_normal((K, 4)), backend="icarus", workdir=tmp_path,
                               dequant=dq)
    assert report.ok, report.first_mismatch
    assert report.results == m * 4
    assert report.extra["latency_cycles"] == [tile_latency_cycles(design, m, 4, 4) + latency]
