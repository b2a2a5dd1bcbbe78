"""The RTL array with double-buffered weights and a multi-lane weight-load bus, driven on the simulator's
schedule, leaves every partial sum in the cycle the register-level reference says, and its last one in the
cycle the closed form (``sim.array_timing.array_schedule``) and the engine count: the whole op, weight loads
included, at the default one-lane path and at wider ones.  Starting folds one cycle earlier breaks it.
"""

import numpy as np
import pytest

from accel.design import stationary_row_bits
from accel.pe import parse
from rtl.array.ws_array import WSShadowArray
from rtl.config import mac_config
from rtl.verify.bench import run_cycles
from sim.array_reference import run_reference
from sim.array_timing import array_schedule
from sim.engine import run_plan
from sim.pe_view import pe_view
from sim.tiling import plan_op
from tests.sim.helpers import ideal_design

pytestmark = pytest.mark.amaranth

ROWS = COLS = 4


def _operands(spec, m, n, k, seed):
    cfg = mac_config(spec)
    rng = np.random.default_rng(seed)
    lo, hi = ((-(1 << (cfg.weight_bits - 1)), 1 << (cfg.weight_bits - 1)) if cfg.weight_signed
              else (0, 1 << cfg.weight_bits))
    return rng.integers(-128, 128, (m, k)), rng.integers(lo, hi, (k, n))


def _stimulus(geometry, starts, writes, A, W, lanes, n_cycles):
    """Per cycle: the left-edge activations and the weight-bus writes of the schedule (fold j on lane j mod L),
    and the writes that found their lane taken (the later one is lost, as on the bus)."""
    cycles, collisions = [], []
    for t in range(n_cycles):
        act = [{"v": 0, "a": 0, "first": 0, "tn": 0} for _ in range(ROWS)]
        wl = [[{"en": 0, "row": 0, "w": 0, "top": 0} for _ in range(COLS)] for _ in range(lanes)]
        for j, (m0, m, k0, tk, n0, tn) in enumerate(geometry):
            for r in range(tk):
                i = t - int(starts[j]) - r
                if 0 <= i < m:
                    act[ROWS - tk + r] = {"v": 1, "a": int(A[m0 + i, k0 + r]), "first": int(i == 0), "tn": int(tn)}
            for c in range(tn):
                r = t - int(writes[j]) - c
                if 0 <= r < tk:
                    slot = wl[j % lanes][c]
                    if slot["en"]:
                        collisions.append((t, j % lanes, c))
                        continue
                    slot.update(en=1, row=ROWS - tk + r, w=int(W[k0 + r, n0 + c]), top=int(r == 0))
        beat = {}
        if any(x["v"] for x in act):
            beat["a"] = act
        if any(s["en"] for lane in wl for s in lane):
            beat["wl"] = wl
        cycles.append(beat)
    return cycles, collisions


def _run(spec, m, n, k, lanes, seed, *, early: bool = False, backend: str = "amaranth"):
    pe = pe_view(spec)
    bits = None if lanes is None else lanes * COLS * stationary_row_bits(spec, "weight")
    design = ideal_design(spec, ROWS, COLS, "ws", bits)
    plan = plan_op(m, n, k, design, pe)
    starts, writes, end = array_schedule("ws", plan.stream, plan.depth, plan.width, lanes=plan.lanes)
    if early:  # every fold after the first one cycle earlier, as the closed form forbids
        starts = starts.copy()
        starts[1:] -= 1
        writes = np.minimum(writes, starts - 1)
    A, W = _operands(spec, m, n, k, seed)
    ref = run_reference("ws", A, W, ROWS, COLS, plan.geometry, starts, writes, pe.packed_group, 1, plan.lanes)
    dut = WSShadowArray(mac_config(spec), ROWS, COLS, plan.lanes)
    cycles, collisions = _stimulus(plan.geometry, starts, writes, A, W, plan.lanes, end + 2)
    res = run_cycles(dut, "ws_shadow", cycles, ["o"], drain=ROWS + COLS + 4, backend=backend)
    # an output sampled after edge n is valid in cycle n + 1 (rtl.verify.bench), the reference's convention
    got = sorted((n_ + 1, c, o["y"]) for n_, row in res["outputs"]["o"] for c, o in enumerate(row) if o["v"])
    return got, ref, end, run_plan(plan, design).cycles, plan, collisions


CASES = [("int8_mac", 1, 6, 12), ("int8_mac", 3, 8, 8), ("mixpe_w4a8", 1, 4, 64), ("mixpe_w4a8", 2, 8, 32)]


@pytest.mark.parametrize("lanes", [None, 2, 4])
@pytest.mark.parametrize("name,m,n,k", CASES)
def test_rtl_cycles_equal_the_simulator_at_every_weight_load_width(name, m, n, k, lanes):
    got, ref, end, engine_cycles, plan, collisions = _run(parse(name), m, n, k, lanes, seed=m * n * k)
    assert plan.n_folds > 1 and ref.hazards == [] and collisions == []
    want = sorted((e.cycle, e.c, e.value) for e in ref.emissions)
    assert got == want  # every partial sum, in the cycle the reference emits it
    assert got[-1][0] + 1 == end == engine_cycles


def test_wider_weight_path_shortens_a_decode_gemv_in_rtl_as_in_the_simulator():
    ends = {lanes: _run(parse("mixpe_w4a8"), 1, 4, 64, lanes, seed=1)[2] for lanes in (None, 2, 4)}
    assert ends[None] > ends[2] > ends[4]


@pytest.mark.parametrize("name,m,n,k", CASES[:3])
def test_one_cycle_earlier_breaks_the_rtl(name, m, n, k):
    got, *_, collisions = _run(parse(name), m, n, k, 2, seed=7, early=True)
    _, ok, *_ = _run(parse(name), m, n, k, 2, seed=7)
    # values per column, whatever their cycles: an early start mixes folds' weights or partial sums
    assert collisions or sorted((c, y) for _, c, y in got) != sorted((e.c, e.value) for e in ok.emissions)



@pytest.mark.simulator_required
@pytest.mark.usefixtures("need_icarus")
@pytest.mark.parametrize("name,m,n,k", [CASES[0], CASES[2]])
def test_generated_verilog_under_cocotb_agrees(name, m, n, k):
    got, ref, end, *_ = _run(parse(name), m, n, k, 2, seed=3, backend="icarus")
    assert got == sorted((e.cycle, e.c, e.value) for e in ref.emissions) and got[-1][0] + 1 == end
