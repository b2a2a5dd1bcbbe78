"""The Fmax model: the least-squares fit, blocks held out whole, and its stated error on our P&R runs."""

import numpy as np
import pytest

from accel.errors import ConfigError
from cost_models.fpga import fmax


def _row(block, device, levels, fmax_mhz):
    return {"block": block, "device": device, "levels": levels, "fmax_mhz": fmax_mhz, "nodsp": True, "kind": "pe"}


def _line(t0, tl, lv):
    return 1e3 / (t0 + tl * lv)


@pytest.mark.unit
def test_the_fit_recovers_a_line_of_delays():
    lv = np.array([3, 8, 16, 30, 64, 200])
    t0, tl = fmax.fit_delay(lv, _line(2.5, 0.4, lv))
    assert t0 == pytest.approx(2.5, rel=1e-6) and tl == pytest.approx(0.4, rel=1e-6)


@pytest.mark.unit
def test_a_block_is_held_out_on_every_part_of_its_class():
    # an outlier block placed on both ECP5 parts: held out, neither of its rows may pull the fit toward it
    rows = [_row(f"b{i}", "ecp5-25k", lv, _line(2.0, 0.5, lv)) for i, lv in enumerate((4, 10, 20, 40))]
    rows += [_row("odd", d, 12, 0.5 * _line(2.0, 0.5, 12)) for d in ("ecp5-25k", "ecp5-85k")]
    m = fmax.FmaxModel("ecp5", tuple(rows))
    odd = [v for v in m.validation() if v["block"] == "odd"]
    for v in odd:
        assert v["held_out_fmax_mhz"] == pytest.approx(_line(2.0, 0.5, 12), rel=1e-6)  # the others' line exactly
        assert v["error_held_out"] == pytest.approx(1.0, rel=1e-6)
        assert abs(v["error"]) < abs(v["error_held_out"])
    assert len(odd) == 2


@pytest.mark.unit
def test_too_few_runs_and_unknown_parts_are_refused():
    with pytest.raises(ConfigError, match=r"^timing class 'ice40-hx8k' has 0 place-and-route rows, the Fmax fit needs "
                                          r"at least 3; regenerate rtl/reports/pnr_table.json \(accel rtl table --pnr\)$"):
        fmax.FmaxModel("ice40-hx8k", ())
    with pytest.raises(ConfigError, match=r"^no Fmax model for device 'xc7a35t'; valid devices: ecp5-25k, ecp5-85k, "
                                          r"ice40-up5k, ice40-hx8k$"):
        fmax.timing_class("xc7a35t")


@pytest.mark.unit
def test_committed_runs_cover_both_families_and_their_held_out_error_is_stated():
    rows = fmax.pnr_rows()
    assert {r["device"] for r in rows} >= {"ecp5-25k", "ecp5-85k", "ice40-up5k"}
    for cls in ("ecp5", "ice40-up5k"):
        m = fmax.FmaxModel(cls)
        assert m.t0_ns > 0 and m.t_level_ns > 0  # a deeper path is slower
        v = m.validation()
        assert all(x["error_held_out"] is not None for x in v)
        # the model is useful: held out, its median absolute error is far below the 500 MHz assumption's
        med = float(np.median([abs(x["error_held_out"]) for x in v]))
        naive = float(np.median([abs(500 / x["measured_fmax_mhz"] - 1) for x in v]))
        assert med < 0.35 and med < naive / 5
