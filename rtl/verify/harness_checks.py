"""The board harness checked end to end in cocotb: an SPI host loads a GEMM tile, plays it, reads it back.

:class:`SpiHost` turns frames into per-cycle pin values (``sck``, ``cs_n``, ``mosi``) and reads the answers
from ``miso``, sampled on every cycle ``sck`` is high (the bench records ``miso`` with ``sck`` as its valid);
the bit is the last sample of each high phase.  :func:`check_harness` compares the tile read back with
:func:`rtl.verify.checks.array_golden` bit for bit.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from rtl.harness import CMD_CLEAR, CMD_PLAY, CMD_READ, CMD_STATUS, CMD_WRITE, Harness
from rtl.verify.checks import CheckReport, array_golden


class SpiHost:
    """SPI mode 0 frames as per-cycle pins: ``sck`` half period ``half`` clocks, ``gap`` clocks between frames."""

    def __init__(self, frame_bits: int, *, half: int = 4, gap: int = 8):
        self.frame_bits, self.half, self.gap = frame_bits, half, gap
        self.pins: dict[str, list[int]] = {"sck": [], "cs_n": [], "mosi": []}
        self.sample_cycles: list[list[int]] = []  # per frame: the cycle each answer bit is read

    def _cycle(self, sck: int, cs_n: int, mosi: int) -> None:
        for k, v in (("sck", sck), ("cs_n", cs_n), ("mosi", mosi)):
            self.pins[k].append(v)

    def frame(self, cmd: int, addr: int = 0, data: int = 0) -> None:
        word = (cmd << (self.frame_bits - 8)) | (addr << (self.frame_bits - 16)) | data
        for _ in range(self.gap):
            self._cycle(0, 1, 0)
        for _ in range(self.half):
            self._cycle(0, 0, 0)
        reads = []
        for i in reversed(range(self.frame_bits)):
            bit = (word >> i) & 1
            for _ in range(self.half):
                self._cycle(0, 0, bit)
            for _ in range(self.half):
                self._cycle(1, 0, bit)
            reads.append(len(self.pins["sck"]) - 1)
        for _ in range(self.half):
            self._cycle(0, 0, 0)
        self.sample_cycles.append(reads)

    def answers(self, samples: list[list[int]]) -> list[int]:
        """Each frame's ``miso`` word from the recorded ``(cycle, miso)`` samples."""
        seen = dict((c, v) for c, v in samples)
        return [int("".join(str(seen[c]) for c in cycles), 2) for cycles in self.sample_cycles]


def tile_operands(spec, rows: int, cols: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random (m, rows) x (rows, cols) tile of operand codes; its first row and weight column hold the extremes."""
    from rtl.config import operand_codes

    rng = np.random.default_rng(seed)
    ca, cw = (np.asarray(c, dtype=np.int64) for c in operand_codes(spec))
    qa, qw = rng.choice(ca, size=(m, rows)), rng.choice(cw, size=(rows, cols))
    qa[0, :] = ca.min() if ca.min() < 0 else ca.max()
    qw[:, 0] = cw.min() if cw.min() < 0 else cw.max()
    return qa, qw


def check_harness(spec, rows: int, cols: int, m: int, *, depth: int | None = None, seed: int = 0,
                  backend: str = "icarus", workdir=None) -> CheckReport:
    """Load one tile through SPI, play weights then activations, read the results back; compare bit for bit."""
    from rtl.config import binding
    from rtl.export import export, ports
    from rtl.verify.packing import pack, unpack
    from rtl.verify.runner import run_plan

    t0 = time.perf_counter()
    core = binding(spec).array(spec, rows, cols)
    harness = Harness(core, depth=depth or max(rows, m))
    info = ports(core)
    index = {name: p for p, (name, _) in enumerate(harness.inputs)}
    qa, qw = tile_operands(spec, rows, cols, m, seed)
    y, s = array_golden(spec, rows, qa, qw)
    want = [{"y": y[i].tolist(), **({"act_sum": int(s[i])} if s is not None else {})} for i in range(m)]

    host = SpiHost(harness.frame_bits)
    for b in range(rows):  # beat b loads weight row rows-1-b
        host.frame(CMD_WRITE + index["wl"], b, pack(info["wl__payload"], qw[rows - 1 - b].tolist()))
    for i in range(m):
        host.frame(CMD_WRITE + index["a"], i, pack(info["a__payload"], qa[i].tolist()))
    host.frame(CMD_CLEAR)
    host.frame(CMD_PLAY + index["wl"], rows - 1)
    host.frame(CMD_PLAY + index["a"], m - 1)
    host.frame(CMD_STATUS)
    for i in range(m):
        host.frame(CMD_READ, i)
    host.frame(0)

    name = f"{spec.name}_array{rows}x{cols}_harness"
    tmp = tempfile.TemporaryDirectory(prefix="accel-harness-") if workdir is None else None
    try:
        wd = Path(workdir or tmp.name)
        paths = export(harness, wd, name)
        plan = {"inputs": host.pins, "watch": [["sck", "miso"]], "drain_cycles": 0, "reset_cycles": 2}
        raw = run_plan(paths["verilog"], name, plan, wd / f"build_{backend}", sim=backend)
        manifest = json.loads(Path(paths["manifest"]).read_text())
    finally:
        if tmp is not None:
            tmp.cleanup()
    answers = host.answers(raw["outputs"]["miso"])
    n_frames = rows + m + 3
    status = answers[n_frames + 1]  # the status answer arrives with the first read frame
    got = [unpack(info["o__payload"], a) for a in answers[n_frames + 2:]]
    mismatches, first = 0, None
    for i, (h, w) in enumerate(zip(got, want, strict=True)):
        if h != w:
            mismatches += 1
            if first is None:
                first = {"output_row": i, "want": w, "got": h}
    if status != m:  # not busy, m results written
        mismatches += 1
        first = first or {"status": status, "want": m}
    return CheckReport(f"harness {rows}x{cols} tile of {m}", backend, qa.size + qw.size, m * cols, mismatches,
                       raw["cycles"], time.perf_counter() - t0, first,
                       {"frame_bits": harness.frame_bits, "pins": sorted(p for p in manifest["ports"])})
