"""A board-ready top level around any streaming RTL array: on-chip RAMs and a 4-wire SPI host interface.

Every input stream of the wrapped component (``wl``, ``a``, ...) gets a RAM of ``depth`` beats, its one
output stream ``o`` writes a result RAM; the host loads, plays and reads back through SPI (mode 0, MSB
first, ``sck`` at most ``clk / 8``), so the pins are ``clk rst sck cs_n mosi miso`` whatever the array.

A *frame* is one ``cs_n`` low period of exactly :attr:`Harness.frame_bits` bits: ``cmd`` (8 bits),
``addr`` (8 bits), ``data`` (:attr:`Harness.data_bits`, the widest payload rounded up to whole bytes).
The command executes when ``cs_n`` rises; keep ``cs_n`` high for at least 8 clock cycles between frames.
While a frame shifts in, the previous frame's answer shifts out on ``miso`` (zero-extended in the low
bits): to read, send the read command, then any frame (e.g. the next read).

| cmd | what |
|---|---|
| ``0x00`` | nothing |
| ``0x10 + p`` | write ``data`` into RAM ``p`` (input stream ``p`` of :attr:`Harness.inputs`) at ``addr`` |
| ``0x20 + p`` | play beats ``0 .. addr`` of RAM ``p`` on stream ``p``, one per cycle |
| ``0x30`` | clear the result count (results are written from entry 0 again) |
| ``0x40`` | answer result entry ``addr`` |
| ``0x50`` | answer the status: ``busy << 9 | result count`` |

Inputs are synchronised into ``clk`` with two flip-flops, so the host's clock need not be related.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError

CMD_WRITE, CMD_PLAY, CMD_CLEAR, CMD_READ, CMD_STATUS = 0x10, 0x20, 0x30, 0x40, 0x50
ADDR_BITS = 8


def _streams(component) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(input streams, output streams) of ``component`` as (name, payload width), in declaration order."""
    ins, outs = [], []
    for name, member in component.signature.members.items():
        if not member.is_signature or "payload" not in member.signature.members:
            raise ConfigError(f"the harness wraps stream ports only; {name!r} of {type(component).__name__} is not "
                              "a stream")
        width = Shape.cast(member.signature.members["payload"].shape).width
        (ins if member.flow == In else outs).append((name, width))
    return ins, outs


class Harness(wiring.Component):
    """``core`` (a component of input streams and one output stream) behind RAMs and SPI (module docstring)."""

    def __init__(self, core, *, depth: int = 256):
        self._MustUse__silence = True  # a harness refused below is never elaborated: no "unused" warning for it
        if not 1 <= depth <= 1 << ADDR_BITS:
            raise ConfigError(f"harness depth must be 1..{1 << ADDR_BITS} beats, got {depth!r}")
        self.core, self.depth = core, depth
        ins, outs = _streams(core)
        if len(outs) != 1 or not 1 <= len(ins) <= 16:
            raise ConfigError(f"the harness needs 1..16 input streams and one output stream, got inputs "
                              f"{[n for n, _ in ins]!r} and outputs {[n for n, _ in outs]!r}")
        self.inputs, (self.output, self.output_bits) = ins, outs[0]
        widest = max(w for _, w in ins + outs)
        self.data_bits = 8 * -(-max(widest, 10) // 8)
        self.frame_bits = 8 + ADDR_BITS + self.data_bits
        super().__init__({"sck": In(1), "cs_n": In(1, init=1), "mosi": In(1), "miso": Out(1)})
        self._MustUse__silence = False

    def elaborate(self, platform):
        m = Module()
        W, D = self.frame_bits, self.depth
        m.submodules.core = core = self.core

        # SPI pins into the clock domain, and their edges
        sck, cs_n, mosi = Signal(), Signal(init=1), Signal()
        m.submodules.sync_sck = FFSynchronizer(self.sck, sck)
        m.submodules.sync_cs = FFSynchronizer(self.cs_n, cs_n, init=1)
        m.submodules.sync_mosi = FFSynchronizer(self.mosi, mosi)
        sck_q, cs_q = Signal(), Signal(init=1)
        m.d.sync += [sck_q.eq(sck), cs_q.eq(cs_n)]
        sck_rise, sck_fall = sck & ~sck_q, ~sck & sck_q
        cs_fall, cs_rise = ~cs_n & cs_q, cs_n & ~cs_q

        shift = Signal(W)
        miso = Signal()
        m.d.comb += self.miso.eq(miso)
        with m.If(~cs_n & sck_rise):
            m.d.sync += shift.eq(Cat(mosi, shift[:-1]))
        with m.If(cs_fall | (~cs_n & sck_fall)):
            m.d.sync += miso.eq(shift[-1])
        cmd, addr, data = shift[W - 8:], shift[self.data_bits:W - 8], shift[:self.data_bits]

        # RAMs: one per input stream, one for the results
        rams = []
        for name, width in self.inputs:
            mem = Memory(shape=width, depth=D, init=[])
            m.submodules[f"ram_{name}"] = mem
            rams.append((mem.write_port(), mem.read_port(domain="sync"), getattr(core, name)))
        results = Memory(shape=self.output_bits, depth=D, init=[])
        m.submodules[f"ram_{self.output}"] = results
        res_w, res_r = results.write_port(), results.read_port(domain="sync")

        out = getattr(core, self.output)
        count = Signal(range(D + 1))
        m.d.comb += out.ready.eq(1)
        with m.If(out.valid & (count < D)):
            m.d.comb += [res_w.addr.eq(count), res_w.data.eq(out.payload.as_value()), res_w.en.eq(1)]
            m.d.sync += count.eq(count + 1)

        sel = Signal(4)
        beat, last = Signal(ADDR_BITS), Signal(ADDR_BITS)
        # a played beat: RAM read, then a register (so the RAM's clock-to-out is not in the array's paths)
        playing, play_q, play_qq = Signal(), Signal(), Signal()
        read_q = Signal()
        for p, (wp, rp, stream) in enumerate(rams):
            beat_q = Signal.like(rp.data, name=f"beat_{self.inputs[p][0]}")
            m.d.sync += beat_q.eq(rp.data)
            m.d.comb += [rp.addr.eq(beat), stream.payload.as_value().eq(beat_q),
                         stream.valid.eq(play_qq & (sel == p))]
            with m.If(cs_rise & (cmd == CMD_WRITE + p)):
                m.d.comb += [wp.addr.eq(addr), wp.data.eq(data), wp.en.eq(1)]
        m.d.sync += [play_q.eq(playing), play_qq.eq(play_q), read_q.eq(0)]
        with m.If(playing):
            m.d.sync += beat.eq(beat + 1)
            with m.If(beat == last):
                m.d.sync += playing.eq(0)
        m.d.comb += res_r.addr.eq(addr)
        with m.If(read_q):
            m.d.sync += shift.eq(res_r.data)
        with m.If(cs_rise):
            with m.If((cmd & 0xF0) == CMD_PLAY):
                m.d.sync += [sel.eq(cmd[:4]), beat.eq(0), last.eq(addr), playing.eq(cmd[:4] < len(rams))]
            with m.If(cmd == CMD_CLEAR):
                m.d.sync += count.eq(0)
            with m.If(cmd == CMD_READ):
                m.d.sync += read_q.eq(1)
            with m.If(cmd == CMD_STATUS):
                m.d.sync += shift.eq(count | ((playing | play_q | play_qq) << 9))
        return m
