"""Event-driven execution of one GEMM's folds: DRAM, SRAM buffers, dequant units and the array (SimPy).

One SimPy environment per op (ops run one after another, each starting with empty buffers):
  - operand slots: with ``memory.double_buffered`` each buffer is split in halves, one for blocks kept
    across folds, one for fold loads, and as many folds' loads are prefetched as that half holds (at
    least 2); without it, 1 (a fold's operands are loaded only after the previous fold has used its).
    Fold j's DRAM reads (weights incl. scales/zeros/block exponents, then activations; nothing when the
    data is already on chip) are queued when a slot frees, i.e. when fold j - slots has streamed its
    operands (the first folds at cycle 0).
  - DRAM: one channel shared by reads and writes (:class:`DramChannel`): bandwidth enforced, latency
    after each transfer.
  - array process: starts each fold at the earliest cycle allowed by the array (``sim.array_timing``),
    operand arrival, the previous fold's dequant work (``sim.dequant``) and SRAM bandwidth (a fold may
    not start before the previous one has moved its SRAM bits at ``bandwidth_bits_per_cycle * banks``
    per buffer).  A fold that opens an output block takes an output-buffer slot (2 when double
    buffered, or as many blocks as half the buffer holds), freed when the block's write-back is done.
  - writer processes: after an output block's last valid output, write it to DRAM.
Breakdown (sums to the op's cycles): compute = array-limited fold intervals; fill_drain = the first
fold's weight preload, the last fold's drain and the dequant pipeline latency; dequant_stall = waits for
the dequant units; memory_stall = waits for DRAM data, SRAM bandwidth, output slots and the final write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.array_timing import ArrayPipeline, pipeline_cycles
from sim.bounds import sram_cycles
from sim.dequant import dequant_cycles
from sim.tiling import OpPlan

__all__ = ["OpTiming", "run_plan"]


@dataclass(frozen=True)
class OpTiming:
    cycles: int
    compute_cycles: int
    fill_drain_cycles: int
    memory_stall_cycles: int
    dequant_stall_cycles: int
    folds: int


class DramChannel:
    """One DRAM channel shared by reads and writes, first come first served.

    A transfer requested at time ``t`` occupies the channel for ``bits / 8 / bytes_per_cycle`` cycles from
    ``max(t, busy_until)``; its data lands ``latency`` cycles after the occupancy ends (requests are
    pipelined, so latency overlaps later transfers).  Requests arrive in simulated-time order because
    SimPy runs processes in time order, so booking ahead is the same as queueing.
    """

    def __init__(self, bytes_per_cycle: float, latency: int) -> None:
        self.bytes_per_cycle = bytes_per_cycle
        self.latency = latency
        self.busy_until = 0.0

    def transfer(self, now: float, bits: float) -> float:
        start = max(now, self.busy_until)
        self.busy_until = start + bits / 8.0 / self.bytes_per_cycle
        return self.busy_until + self.latency


def _prefetch_slots(plan: OpPlan, mem) -> int:
    """How many folds' operand loads may be queued or resident at once (see module docstring)."""
    if not mem.double_buffered:
        return 1
    depth = [(buf.capacity_bits // 2) // float(loads.max()) for buf, loads in
             ((mem.weight_buffer, plan.dram_w), (mem.input_buffer, plan.dram_a)) if loads.size and loads.max() > 0]
    return int(max(2, min(depth, default=2)))


def _output_slots(plan: OpPlan, mem) -> int:
    """Output blocks that may be open or awaiting write-back at once (see module docstring)."""
    if not mem.double_buffered or not plan.dram_o.size or plan.dram_o.max() <= 0:
        return 1 if not mem.double_buffered else 2
    return int(max(2, (mem.output_buffer.capacity_bits // 2) // float(plan.dram_o.max())))


def run_plan(plan: OpPlan, design) -> OpTiming:
    """Simulate the folds of ``plan`` on ``design``; returns the op's cycles and their breakdown."""
    import simpy  # here, not at module level: simpy's import (~50 ms) would slow every `accel` command

    mem = design.memory
    n = plan.n_folds
    bytes_per_cycle = float(mem.dram_bandwidth_bytes_per_cycle)
    lat = mem.dram_latency_cycles
    dq_need = dequant_cycles(design, plan.dq_ops, plan.width, plan.depth).tolist()
    has_dq = bool(plan.dq_ops.any())
    sram = sram_cycles(plan, mem).tolist()
    load_bits = (plan.dram_w + plan.dram_a).tolist()
    out_bits = plan.dram_o.tolist()
    out_start = plan.out_start.tolist()
    stream, depth, width = plan.stream.tolist(), plan.depth.tolist(), plan.width.tolist()
    nslots = _prefetch_slots(plan, mem)

    env = simpy.Environment()
    chan = DramChannel(bytes_per_cycle, lat)
    out_free = [_output_slots(plan, mem)]  # free output-buffer slots
    out_waiters: list[simpy.Event] = []
    ready = [0.0] * n
    acct = {"compute": 0, "fill": 0, "mem": 0, "dq": 0, "write_done": 0.0, "e_compute": 0}

    def issue_load(j):
        """Fold j's operands get a buffer slot now: queue their DRAM reads (nothing when already on chip)."""
        ready[j] = chan.transfer(env.now, load_bits[j]) if load_bits[j] > 0 else env.now

    def writer(bits, at):
        yield env.timeout(at - env.now)
        done = chan.transfer(env.now, bits) if bits > 0 else env.now  # nothing to write: the block stays on chip
        yield env.timeout(done - env.now)
        acct["write_done"] = max(acct["write_done"], env.now)
        out_free[0] += 1
        if out_waiters:
            out_waiters.pop(0).succeed()

    def array():
        pipe = ArrayPipeline(plan.dataflow, plan.lanes, pipeline_cycles(design))
        prev_s = prev_dq = prev_sram = 0
        last_valid = 0
        for j in range(min(nslots, n)):
            issue_load(j)
        for j in range(n):
            r = math.ceil(ready[j])
            if out_start[j]:
                if out_free[0] == 0:
                    ev = env.event()
                    out_waiters.append(ev)
                    yield ev
                    r = max(r, math.ceil(env.now))
                out_free[0] -= 1
            s_arr, t, s_min = pipe.propose(stream[j], depth[j], width[j], ready=r)
            if j == 0:
                s = s_min
                acct["fill"] += s_arr
                acct["mem"] += s - s_arr
            else:
                s_dq = max(s_arr, prev_s + prev_dq)
                s = max(s_min, s_dq, prev_s + prev_sram)
                acct["compute"] += s_arr - prev_s
                acct["dq"] += s_dq - s_arr
                acct["mem"] += s - s_dq
            last_valid = max(last_valid, pipe.commit(s, t, stream[j], depth[j], width[j]))
            prev_s, prev_dq, prev_sram = s, dq_need[j], sram[j]
            if j == n - 1 or out_start[j + 1]:  # the fold closes its output block
                env.process(writer(out_bits[j], last_valid + 1))
            # the fold has streamed its operands: its slot takes the load of fold j + nslots
            yield env.timeout(s + stream[j] - env.now)
            if j + nslots < n:
                issue_load(j + nslots)
        e_arr = last_valid + 1
        acct["compute"] += stream[-1]
        acct["fill"] += e_arr - prev_s - stream[-1]
        e_dq = max(e_arr, prev_s + prev_dq)
        acct["dq"] += e_dq - e_arr
        if has_dq:
            acct["fill"] += design.dequant.latency_cycles
            e_dq += design.dequant.latency_cycles
        acct["e_compute"] = e_dq

    env.process(array())
    env.run()
    end = max(acct["e_compute"], math.ceil(acct["write_done"]))
    acct["mem"] += end - acct["e_compute"]
    timing = OpTiming(end, acct["compute"], acct["fill"], acct["mem"], acct["dq"], n)
    assert timing.compute_cycles + timing.fill_drain_cycles + timing.memory_stall_cycles \
        + timing.dequant_stall_cycles == timing.cycles, timing  # internal invariant, not user input
    return timing
