"""The harness refuses what it cannot wrap, with the project's errors."""

import pytest
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from accel.errors import ConfigError
from accel.pe import parse
from rtl.config import binding
from rtl.harness import Harness

pytestmark = pytest.mark.unit


def _core():
    spec = parse("int8_mac")
    core = binding(spec).array(spec, 2, 2)
    core._MustUse__silence = True
    return core


@pytest.mark.parametrize("depth", [0, 257])
def test_depth_out_of_range(depth):
    with pytest.raises(ConfigError, match=rf"^harness depth must be 1\.\.256 beats, got {depth}$"):
        Harness(_core(), depth=depth)


def test_frame_holds_the_widest_payload_in_whole_bytes():
    h = Harness(_core(), depth=4)
    h._MustUse__silence = True
    assert [n for n, _ in h.inputs] == ["wl", "a"] and h.output == "o"
    assert h.data_bits % 8 == 0 and h.data_bits >= h.output_bits > h.data_bits - 8
    assert h.frame_bits == 16 + h.data_bits


class _NotStreams(wiring.Component):
    def __init__(self):
        super().__init__({"x": In(8), "o": Out(stream.Signature(8))})

    def elaborate(self, platform):  # pragma: no cover - never elaborated
        raise AssertionError


class _TwoOutputs(wiring.Component):
    def __init__(self):
        super().__init__({"a": In(stream.Signature(8)), "o": Out(stream.Signature(8)), "p": Out(stream.Signature(8))})

    def elaborate(self, platform):  # pragma: no cover - never elaborated
        raise AssertionError


def test_non_stream_port_is_refused():
    core = _NotStreams()
    core._MustUse__silence = True
    with pytest.raises(ConfigError, match=r"^the harness wraps stream ports only; 'x' of _NotStreams is not a stream$"):
        Harness(core)


def test_two_outputs_are_refused():
    core = _TwoOutputs()
    core._MustUse__silence = True
    with pytest.raises(ConfigError, match=r"^the harness needs 1\.\.16 input streams and one output stream, got inputs "
                                          r"\['a'\] and outputs \['o', 'p'\]$"):
        Harness(core)
