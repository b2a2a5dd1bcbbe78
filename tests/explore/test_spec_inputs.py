"""Bad sweep files are refused when the spec is loaded, before any evaluation or output directory."""

from __future__ import annotations

import re
import tracemalloc

import pytest
import yaml

from accel.cli import main
from accel.errors import ConfigError
from cost_models.explore.spec import accel_models, load_sweep, sweep_from_dict
from tests.core.yaml_cases import sweep_bomb

pytestmark = pytest.mark.unit
TOY = "tests.explore.toy:ToyEvaluator"


def _sweep(tmp_path, text: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _explore(capsys, *argv) -> tuple[int, str]:
    """Run ``accel explore`` in this process: exit code and the first line of stderr."""
    rc = main(["explore", "--no-progress", *argv])
    err = capsys.readouterr().err
    return rc, (err.splitlines() or [""])[0]


def test_alias_bomb_in_a_sweep_is_refused_fast_with_a_short_message(tmp_path, capsys):
    spec = _sweep(tmp_path, sweep_bomb(), "bomb.yaml")
    out = tmp_path / "out"
    tracemalloc.start()
    rc, first = _explore(capsys, "--spec", str(spec), "-o", str(out), "--evaluator", TOY)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert rc == 2
    assert first == (f"accel: error: {spec}: aliases expand this document to more than 100,000 nodes (an alias "
                     "bomb?) at line 9, column 6")
    assert peak < 16 * 2 ** 20 and not out.exists()


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "..", ".hidden", "c:\\x", "x" * 101, "tab\there", ""])
def test_sweep_names_stay_inside_results(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    spec = _sweep(tmp_path, yaml.safe_dump({"name": name, "axes": {"pe": ["toy"]}}))
    rc, first = _explore(capsys, "--spec", str(spec), "--evaluator", TOY)
    assert rc == 2
    assert re.match(rf"^accel: error: {re.escape(str(spec))}: 1 problem\(s\): name must be a ", first), first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # no results/ or anything outside it


def test_a_plain_name_is_the_default_output_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _sweep(tmp_path, "name: my study-2.b_c\nworkload: {model: toy}\naxes: {pe: ['toy:w=4,a=8']}\n")
    rc, _ = _explore(capsys, "--spec", str(spec), "--evaluator", TOY, "--no-report", "-j", "1")
    assert rc == 0 and (tmp_path / "results" / "my study-2.b_c" / "results.parquet").is_file()


def test_array_shapes_are_read_as_strings(tmp_path):
    good = load_sweep(_sweep(tmp_path, "axes: {pe: [x], array: [4x4, 16x8]}\n"))
    assert [(p.array_rows, p.array_cols) for p in good.points] == [(4, 4), (16, 8)]
    with pytest.raises(ConfigError, match=r"^.*s\.yaml: 2 problem\(s\): axes\.array '0x4': array\.rows must be an "
                                          r"integer in 1\.\.4096, got 0; axes\.array: array shape must be a string "
                                          r"ROWSxCOLS like '32x32', got int 4$"):
        load_sweep(_sweep(tmp_path, "axes: {pe: [x], array: [0x4, 4]}\n"))


def test_unknown_models_are_refused_at_load(tmp_path, capsys):
    text = "workload: {model: [smollm2-135m, llama9]}\nalso: [{workload: {model: gpt5}, axes: {pe: [int8_mac]}}]\n" \
           "axes: {pe: [int8_mac]}\n"
    with pytest.raises(ConfigError, match=r"^.*s\.yaml: 2 problem\(s\): unknown model 'llama9' in workload; valid "
                                          r"models: smollm2-135m, minilm-l6, llama2-7b, .*; unknown model 'gpt5' in "
                                          r"workload; valid models: "):
        load_sweep(_sweep(tmp_path, text), models=accel_models())
    assert len(load_sweep(tmp_path / "s.yaml").points) == 3  # without a model list any name is kept
    out = tmp_path / "out"
    rc, first = _explore(capsys, "--spec", str(tmp_path / "s.yaml"), "-o", str(out))  # the default evaluator
    assert rc == 2 and first.startswith(f"accel: error: {tmp_path / 's.yaml'}: 2 problem(s): unknown model 'llama9'")
    assert not out.exists()


def test_unknown_formats_are_refused_at_load(tmp_path, capsys):
    spec = _sweep(tmp_path, "axes:\n  pe: [{name: mixpe_w4a8, weight_format: [q4_1, q9]}]\n"
                            "  kv_cache_format: [bfp12_b32, bfp99]\n")
    rc, first = _explore(capsys, "--spec", str(spec), "-o", str(tmp_path / "out"))
    assert rc == 2
    assert first.startswith(f"accel: error: {spec}: 2 problem(s): axes.pe[0]: invalid PE spec 'mixpe_w4a8': "
                            "weight_format must be one of int4, uint4, q4_0, q4_1, got 'q9'; axes.kv_cache_format: "
                            "unknown format 'bfp99'; valid choices: ")


def test_non_finite_numbers_in_a_sweep_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"^.*s\.yaml: non-finite number '\.inf'; numbers must be finite at line 1, "
                                          r"column 54$"):
        load_sweep(_sweep(tmp_path, "axes: {pe: [x], dram_bandwidth_bytes_per_cycle: [64, .inf]}\n"))
    with pytest.raises(ConfigError, match=r"constraints\.max_area_um2 must be a number, got '1e999x'"):
        sweep_from_dict({"axes": {"pe": "x"}, "constraints": {"max_area_um2": "1e999x"}})


def test_axes_are_counted_before_the_grid_is_built():
    axes = {"pe": ["a", "b"], "freq_mhz": list(range(1, 101)), "weight_buffer_kib": list(range(1, 101)),
            "input_buffer_kib": list(range(1, 101)), "array": ["4x4", "4x4", " 4X4 "]}  # one array value, thrice
    tracemalloc.start()
    with pytest.raises(ConfigError, match=r"^<dict>: the sweep's axes span 2,000,000 combinations, more than 200,000 "
                                          r"\(max_points=5000\); narrow the axes$"):
        sweep_from_dict({"axes": axes})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2 ** 20
    axes.update(freq_mhz=[1, 2], weight_buffer_kib=[1], input_buffer_kib=[1, 2, 3])
    assert len(sweep_from_dict({"axes": axes}).points) == 2 * 2 * 3


def test_non_string_keys_are_reported_not_sorted_into_a_type_error():
    with pytest.raises(ConfigError, match=r"^<dict>: 2 problem\(s\): unknown top-level key 1; .*unknown axis None; "):
        sweep_from_dict({1: 2, "axes": {"pe": [{"name": "x", 1: "a", "b": ["c", "d"]}], None: 3}})
    s = sweep_from_dict({"axes": {"pe": [{"name": "x", 1: "a", "b": ["c", "d"]}]}})
    assert [p.pe for p in s.points] == ["x:1=a,b=c", "x:1=a,b=d"]
