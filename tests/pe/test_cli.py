"""``accel pe list|show`` through a parser built from accel.pe.cli.register alone."""

import argparse
import json

import pytest

import accel.pe as pe
from accel.errors import ConfigError
from accel.pe.cli import register

pytestmark = pytest.mark.unit


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="accel")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result = args.func(args)
    return result, capsys.readouterr().out


def test_list_human_and_json(capsys):
    rows, out = _run(["pe", "list"], capsys)
    assert [r["name"] for r in rows] == pe.names()
    for name in pe.names():
        assert name in out
    rows_json, out_json = _run(["pe", "list", "--json"], capsys)
    assert out_json == "" and rows_json == rows  # the entry point prints the JSON


def test_show(capsys):
    d, out = _run(["pe", "show", "mixpe_w4a8:group_size=128,weight_format=uint4"], capsys)
    assert d["spec"] == "mixpe_w4a8:group_size=128,weight_format=uint4"
    assert d["group_size"] == 128 and d["dequant"] == "per_group" and d["weight_scheme"] == "uint4_g128_asym"
    assert d["activity_per_mac_1x1x1"]["shift_add_mul:8x4"] == 128
    assert "uint4_g128_asym" in out and "shift_add_mul:8x4" in out
    json.dumps(d)  # JSON-serialisable as is
    with pytest.raises(ConfigError, match=r"^unknown PE variant 'nope'"):
        _run(["pe", "show", "nope", "--json"], capsys)


def test_show_lists_the_dequant_placements_and_the_preset_implementation(capsys):
    d, out = _run(["pe", "show", "fp16_dequant_first"], capsys)
    assert d["dequant"] == "in_loop" and d["dequant_valid"] == ["in_loop"]
    assert "* in_loop" in out and "per_group " not in out
    assert 'dequant="per_group"' in d["doc"]  # the implementation's (mixpe_w4a16) documentation follows
    d, out = _run(["pe", "show", "int8_mac:group_size=64,dequant=per_group"], capsys)
    assert d["dequant_valid"] == ["per_output", "per_group"] and d["weight_scheme"] == "int8_g64"
    assert "* per_group" in out and "  per_output" in out
