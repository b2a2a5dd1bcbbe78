"""The one YAML reader: limits, refusals and messages (accel.config)."""

from __future__ import annotations

import re
import tracemalloc

import pytest
import yaml

from accel import config
from accel.config import parse_yaml, read_yaml
from accel.design import load_design
from accel.errors import ConfigError, short_repr

from .yaml_cases import alias_bomb, design_bomb

pytestmark = pytest.mark.unit


def _peak_bytes(fn) -> tuple[int, object, BaseException | None]:
    """Peak Python heap (tracemalloc) while ``fn()`` runs, what it returned and what it raised."""
    result = err = None
    tracemalloc.start()
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - returned to the caller to check
        err = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, result, err


def test_plain_documents_read_as_safe_load_does():
    text = ("name: x\narray: {rows: 32, cols: 16, dataflow: ws, freq_mhz: 500.0}\nlist: [1, -2, +3, 0.5, -1.5e+3, "
            "true, null, 'q', 2024-01-02]\nbase: &b {u: 1, v: 2}\nmerged: {<<: *b, v: 3}\n")
    assert parse_yaml(text) == yaml.safe_load(text)


def test_shipped_yaml_files_all_load_as_safe_load_does():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [p for d in ("cost_models", "examples") for p in (root / d).rglob("*.yaml")]
    assert len(files) >= 10
    for p in files:
        assert read_yaml(p, "file") == yaml.safe_load(p.read_text()), p


@pytest.mark.parametrize("text, value", [
    ("0x4", "0x4"), ("010", "010"), ("0o7", "0o7"), ("0b11", "0b11"), ("1:30", "1:30"), ("4x4", "4x4"),
    ("1_000", 1000), ("-0", 0), ("+7", 7), ("1e5", 100000.0), ("1E-2", 0.01), ("5.0e6", 5e6), (".5", 0.5),
    ("-3.", -3.0), ("9223372036854775807", 2 ** 63 - 1), ("-9223372036854775808", -(2 ** 63)),
])
def test_integers_are_plain_decimals_and_floats_follow_yaml_1_2(text, value):
    got = parse_yaml(f"v: {text}")["v"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text, message", [
    (".inf", r"non-finite number '\.inf'; numbers must be finite at line 1, column 4"),
    ("-.Inf", r"non-finite number '-\.Inf'; numbers must be finite"),
    (".nan", r"non-finite number '\.nan'; numbers must be finite"),
    ("1e999", r"non-finite number '1e999'; numbers must be finite"),
    ("!!float inf", r"non-finite number 'inf'"),
    ("9223372036854775808", r"integer '9223372036854775808' is outside the signed 64-bit range"),
    ("9" * 5000, r"integer '9{50,}\.\.\.9{50,}' is outside the signed 64-bit range"),
    ("!!float x", r"cannot read 'x' as tag:yaml.org,2002:float at line 1, column 4$"),
    ("!!bool maybe", r"cannot read 'maybe' as tag:yaml.org,2002:bool"),
    ("!!python/object:os.system x", r"malformed YAML: could not determine a constructor for the tag "),
])
def test_values_that_are_refused(text, message):
    with pytest.raises(ConfigError, match=r"^f\.yaml: " + message):
        parse_yaml(f"v: {text}", "f.yaml")


def test_duplicate_keys_are_refused_and_merges_may_override():
    with pytest.raises(ConfigError, match=r"^f\.yaml: duplicate key 'rows' \(first given at line 1, column 1\) "
                                          r"at line 3, column 1$"):
        parse_yaml("rows: 4\ncols: 4\nrows: 8\n", "f.yaml")
    with pytest.raises(ConfigError, match=r"duplicate key 'a' \(first given at line 1, column 2\) at line 1, "
                                          r"column 8$"):
        parse_yaml("{a: 1, a: 2}", "f.yaml")
    assert parse_yaml("b: &b {x: 1, y: 2}\nd: {<<: *b, x: 3}")["d"] == {"x": 3, "y": 2}


def test_alias_bomb_is_refused_before_it_is_built():
    text = alias_bomb()
    peak, _, err = _peak_bytes(lambda: parse_yaml(text, "bomb.yaml"))
    assert isinstance(err, ConfigError)
    assert str(err) == ("bomb.yaml: aliases expand this document to more than 100,000 nodes (an alias bomb?) at "
                        "line 6, column 4")
    assert peak < 2 * 2 ** 20  # the 387-million-leaf document never exists


def test_alias_expansion_limit_is_exact():
    ok = "a: &a [" + ", ".join(["x"] * 999) + "]\nb: [" + ", ".join(["*a"] * 99) + "]\n"
    # root mapping 1 + keys 2 + a (1 + 999) + b (1 + 99 * 1000): 100,002 nodes > limit; one alias fewer fits
    with pytest.raises(ConfigError, match=r"more than 100,000 nodes"):
        parse_yaml(ok)
    fits = ok.replace(", *a]", "]", 1)
    assert len(parse_yaml(fits)["b"]) == 98


def test_recursive_aliases_and_deep_nesting_are_refused():
    with pytest.raises(ConfigError, match=r"^f\.yaml: an alias refers to a node that contains it \(a recursive "
                                          r"structure\) at line 1, column 4$"):
        parse_yaml("a: &a [1, *a]", "f.yaml")
    depth = config.MAX_DEPTH
    assert parse_yaml("[" * depth + "]" * depth) is not None
    with pytest.raises(ConfigError, match=rf"^f\.yaml: nested deeper than {depth} levels at line 1, column "
                                          rf"{depth + 1}$"):
        parse_yaml("[" * (depth + 1) + "]" * (depth + 1), "f.yaml")
    with pytest.raises(ConfigError, match=r"nested deeper than 64 levels"):  # no RecursionError either
        parse_yaml("[" * 200_000)


def test_files_must_be_small_utf8_text(tmp_path):
    binary = tmp_path / "design.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(ConfigError, match=rf"^{binary}: a design file must be UTF-8 YAML text; byte 0 is 0x89 "
                                          r"\(a binary file\?\)$"):
        load_design(binary)
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"pe: int8_mac\x00\n")
    with pytest.raises(ConfigError, match=rf"^{nul}: unprintable character #x0000 at character 12; expected YAML "
                                          r"text$"):
        load_design(nul)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * config.MAX_BYTES + b"\n")
    with pytest.raises(ConfigError, match=rf"^{big}: a design file may be at most 1,048,576 bytes; this one is "
                                          r"larger$"):
        load_design(big)
    with pytest.raises(ConfigError, match=rf"^cannot read design file '{tmp_path}': Is a directory$"):
        load_design(tmp_path)


def test_messages_quote_at_most_200_characters_of_a_value(tmp_path):
    huge = "z" * 150_000
    f = tmp_path / "d.yaml"
    f.write_text(f"pe: {huge}\narray: {{rows: {huge}, dataflow: {huge}}}\nkv_cache_format: {huge}\n? {huge}\n: 1\n")
    with pytest.raises(ConfigError) as ei:
        load_design(f)
    msg = str(ei.value)
    runs = re.findall(r"z{10,}", msg)
    assert len(runs) == 2 * 5 and max(map(len, runs)) < 100  # pe, rows, dataflow, kv format, key: each 'zz...zz'
    assert len(msg) < 4000
    assert short_repr(huge) == "'" + "z" * 87 + "..." + "z" * 88 + "'"


def test_design_alias_bomb_through_the_command_line(tmp_path, capsys):
    from accel.cli import main

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(design_bomb())
    peak, rc, err = _peak_bytes(lambda: main(["sim", "--design", str(bomb), "--gemm", "8,8,8"]))
    assert (rc, err) == (2, None)
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (f"accel: error: {bomb}: aliases expand this document to more than 100,000 nodes (an alias "
                     "bomb?) at line 7, column 4")
    assert peak < 16 * 2 ** 20


def test_design_kv_cache_format_is_a_known_format(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("pe: int8_mac\nkv_cache_format: bfp12_b32\n")
    assert load_design(f).kv_cache_format == "bfp12_b32"
    f.write_text("pe: int8_mac\nkv_cache_format: bfp99\n")
    with pytest.raises(ConfigError, match=rf"^{f}: kv_cache_format: unknown format 'bfp99'; valid choices: int2, "):
        load_design(f)
    f.write_text("pe: int8_mac\nkv_cache_format: 12\n")
    with pytest.raises(ConfigError, match=rf"^{f}: kv_cache_format: format name must be a string, got 12$"):
        load_design(f)


def test_at_most_50_problems_are_listed(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("pe: int8_mac\n" + "".join(f"k{i:02d}: 1\n" for i in range(60)))
    with pytest.raises(ConfigError) as ei:
        load_design(f)
    msg = str(ei.value)
    assert msg.count("unknown top-level key") == 50 and "'k49'" in msg and "'k50'" not in msg
    assert msg.endswith("; and 10 more")
