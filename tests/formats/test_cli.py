"""`accel formats list` / `accel formats show NAME` (human and --json output)."""

import json

import ml_dtypes
import numpy as np
import pytest

import accel.formats as F
from accel.cli import main

pytestmark = pytest.mark.unit


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_json_names_every_registered_format(capsys):
    rows = run_json(capsys, "formats", "list")
    assert [r["name"] for r in rows] == F.names()
    by_name = {r["name"]: r for r in rows}
    assert by_name["float8_e4m3fn"]["max"] == 448.0 and by_name["mxfp4"]["bits_per_element"] == 4.25


def test_list_human(capsys):
    assert main(["formats", "list"]) == 0
    out = capsys.readouterr().out
    assert "float8_e5m2 " in out and "q4_1 " in out and f"{len(F.names())} names" in out


def test_show_json_lists_every_code_with_value_and_class(capsys):
    out = run_json(capsys, "formats", "show", "float8_e4m3fn")
    codes = out["codes"]
    assert [c["code"] for c in codes] == list(range(256))
    ref = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64)
    for row, value in zip(codes, ref, strict=True):
        if np.isnan(value):
            assert row["value"] == "nan" and row["class"] == "nan"  # strict JSON has no NaN literal
        else:
            assert row["value"] == value
    classes = [c["class"] for c in codes]
    assert classes.count("nan") == 2 and classes.count("zero") == 2 and classes.count("subnormal") == 14
    assert "inf" not in classes and classes.count("normal") == 256 - 18


def test_show_ieee_format_has_inf_class(capsys):
    classes = [c["class"] for c in run_json(capsys, "formats", "show", "float8_e5m2")["codes"]]
    assert classes.count("inf") == 2 and classes.count("nan") == 6


def test_show_human_prints_codes(capsys):
    assert main(["formats", "show", "float4_e2m1fn"]) == 0
    out = capsys.readouterr().out
    assert "0x7 0111                6  normal" in out and "0x9 1001             -0.5  subnormal" in out


def test_show_scheme_shows_its_element_codes(capsys):
    out = run_json(capsys, "formats", "show", "uint4_g32_asym")
    assert out["element"] == "uint4" and out["zero_point"] is True and len(out["codes"]) == 16


def test_show_wide_format_skips_code_table(capsys):
    assert run_json(capsys, "formats", "show", "fp32")["codes"] is None


def test_show_unknown_name_is_an_error(capsys):
    assert main(["formats", "show", "e0m3"]) == 2
    assert capsys.readouterr().err.startswith("accel: error: invalid minifloat 'e0m3': ")
