"""FPGA design points: clocked at the predicted Fmax of their part, infeasible (not plotted) when they do not fit."""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from accel.errors import ConfigError
from cost_models.explore import fpga
from cost_models.explore.chain import ChainEvaluator
from cost_models.explore.pareto import feasible_mask
from cost_models.explore.records import Point, Workload
from cost_models.explore.report import md_table
from cost_models.explore.spec import accel_canonical_pe, sweep_from_dict
from cost_models.explore.store import derive_metrics, point_row

WORKLOAD = Workload(model="smollm2-135m", phases=("prefill",), prefill_tokens=4, decode_tokens=0,
                    accuracy_windows=1, accuracy_tokens=12)


@pytest.mark.unit
def test_an_unknown_device_is_refused_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"axes\.fpga_device: unknown device 'ecp5-12k'; valid devices: ecp5-25k, "
                                          r"ecp5-85k, ice40-up5k, ice40-hx8k"):
        sweep_from_dict({"axes": {"pe": ["int8_mac"], "fpga_device": ["ecp5-25k", "ecp5-12k"]}},
                        canonical_pe=accel_canonical_pe)


@pytest.mark.amaranth
def test_fpga_points_run_at_their_predicted_fmax_and_misfits_are_infeasible():
    from accel.pe import parse
    from cost_models.fpga.fmax import lut_scale, model
    from rtl.synth.levels import design_levels

    asic = Point(WORKLOAD, "int8_mac", array_rows=4, array_cols=4)
    small = dataclasses.replace(asic, fpga_device="ecp5-25k")
    big = dataclasses.replace(small, array_rows=64, array_cols=64)
    ev = ChainEvaluator()
    a, s, b = ev.performance(asic), ev.performance(small), ev.performance(big)

    levels = design_levels(parse("int8_mac"), "ecp5", nodsp=True)["critical"]
    assert s.fpga_levels == levels["levels"]
    assert s.clock_mhz == s.fpga_fmax_mhz == round(model("ecp5-25k").fmax_mhz(levels), 3)
    assert a.clock_mhz == 500.0 and np.isnan(a.fpga_fmax_mhz) and s.cycles == a.cycles  # the clock changes no cycle
    # LUTs: the ice40 LUT4 model's count scaled to the part; 64 x 64 of them do not fit 24,288
    # r x r PEs and r column-edge dequant units (int8_mac's per-channel scales): LUTs = r^2 P + r D, so 4x4 and 8x8
    # give P and D, and 64x64 follows
    m8 = ev.performance(dataclasses.replace(small, array_rows=8, array_cols=8)).fpga_luts
    pe_luts, dq_luts = np.linalg.solve([[16, 4], [64, 8]], [s.fpga_luts, m8])
    assert pe_luts > 0 and b.fpga_luts == pytest.approx(4096 * pe_luts + 64 * dq_luts, rel=1e-4)  # LUTs rounded
    factor, _ = lut_scale("ecp5")
    assert factor > 0 and s.fpga_fits and s.fpga_luts_available == 24288
    assert not b.fpga_fits
    assert re.fullmatch(r"needs [\d,]+ LUTs \(predicted\), ecp5-25k has 24,288; "
                        r"needs 196,608 flip-flops, ecp5-25k has 24,288", b.fpga_misfit)  # 4096 PEs x 48 bits

    df = derive_metrics(pd.DataFrame([point_row(p, r) for p, r in ((asic, a), (small, s), (big, b))]))
    assert df["latency_ms"].tolist() == pytest.approx([a.cycles / 500e3, s.cycles / (s.clock_mhz * 1e3),
                                                       b.cycles / (b.clock_mhz * 1e3)])
    assert df["tokens_per_s"].tolist() == pytest.approx((4 / (df["latency_ms"] / 1e3)).tolist())
    assert feasible_mask(df, ()).tolist() == [True, True, False]
    text = "\n".join(fpga.report_lines(df.assign(accuracy_loss=np.nan), md_table))
    assert "| int8_mac | 4x4 (" in text and "64x64: needs" in text
