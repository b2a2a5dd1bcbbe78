import pytest
import yaml

from accel.errors import ConfigError
from cost_models.explore.records import Point, Workload
from cost_models.explore.spec import AXES, load_sweep, preset_names, preset_path, sweep_from_dict

from .conftest import TOY_SWEEP

pytestmark = pytest.mark.unit


def test_toy_sweep_expands_to_the_cartesian_product(toy_sweep):
    data = yaml.safe_load(TOY_SWEEP.read_text())
    n_pe = 1 + 2 * 2  # one string + a mapping sweeping w in {2,4} and a in {4,8}
    axes = data["axes"]
    assert len(toy_sweep.points) == n_pe * len(axes["array"]) * len(axes["dram_bandwidth_bytes_per_cycle"])
    assert len(set(toy_sweep.points)) == len(toy_sweep.points)
    assert len(toy_sweep.arith_configs()) == n_pe
    assert {p.pe for p in toy_sweep.points} == {"toy:w=8,a=8", "toy:a=4,w=2", "toy:a=8,w=2", "toy:a=4,w=4",
                                                 "toy:a=8,w=4"}
    assert {(p.array_rows, p.array_cols) for p in toy_sweep.points} == {(8, 8), (16, 16)}
    assert all(isinstance(p.dram_bandwidth_bytes_per_cycle, float) for p in toy_sweep.points)
    assert toy_sweep.workload == Workload(model="toy", prefill_tokens=16, decode_tokens=1)
    assert toy_sweep.constraints == (("max_area_um2", 60000.0),)


def test_int_and_float_axis_values_give_the_same_point():
    a = sweep_from_dict({"axes": {"pe": "x", "dram_bandwidth_bytes_per_cycle": 64, "freq_mhz": 500}})
    b = sweep_from_dict({"axes": {"pe": "x", "dram_bandwidth_bytes_per_cycle": 64.0, "freq_mhz": 500.0}})
    assert a.points == b.points and a.points[0].key == b.points[0].key


def test_every_problem_is_reported_at_once():
    bad = {"name": "b", "colour": 1,
           "workload": {"model": "", "phases": ["train"], "prefill_tokens": 0, "beam": 3},
           "axes": {"pe": [], "voltage": [1], "array": ["8*8", "0x4"], "dataflow": ["zz"],
                    "dram_bandwidth_bytes_per_cycle": [-1], "dequant_count": [0], "weight_buffer_kib": ["8"],
                    "kv_cache_format": ["bfp99", None]},
           "constraints": {"max_power": 1, "max_area_um2": "big"},
           "fronts": [["accuracy_loss", "speed"]]}
    with pytest.raises(ConfigError) as ei:
        sweep_from_dict(bad, source="bad.yaml")
    msg = str(ei.value)
    assert msg.startswith("bad.yaml: 17 problem(s): ")
    for needle in ("unknown top-level key 'colour'", "workload.model must be a model name, got ''",
                   "workload.phases must be a non-empty list of prefill, decode, got ['train']",
                   "workload.prefill_tokens must be an integer >= 1, got 0", "unknown key workload.'beam'",
                   "axes.pe is an empty list", f"unknown axis 'voltage'; valid axes: {', '.join(AXES)}",
                   "array shape must be written ROWSxCOLS like '32x32', got '8*8'",
                   "array.rows must be an integer in 1..4096, got 0",
                   "array.dataflow must be one of ws, os, is, got 'zz'",
                   "memory.dram_bandwidth_bytes_per_cycle must be a positive number, got -1.0",
                   "dequant.count must be an integer >= 1 or omitted, got 0",
                   "axes.weight_buffer_kib values must be of type int, got '8'",
                   "axes.kv_cache_format: unknown format 'bfp99'; valid choices: int2,",
                   "unknown constraint 'max_power'", "constraints.max_area_um2 must be a number, got 'big'",
                   "unknown metric 'speed' in fronts"):
        assert needle in msg, (needle, msg)


def test_pe_strings_are_validated_and_canonicalised_by_the_given_parser():
    def canonical(text):
        if text.startswith("bad"):
            raise ConfigError(f"unknown PE variant {text!r}; valid variants: good")
        return text.upper()

    s = sweep_from_dict({"axes": {"pe": ["good", {"name": "good", "g": [1, 2]}]}}, canonical_pe=canonical)
    assert [p.pe for p in s.points] == ["GOOD", "GOOD:G=1", "GOOD:G=2"]
    with pytest.raises(ConfigError, match=r"^<dict>: 2 problem\(s\): axes.pe\[0\]: unknown PE variant 'bad1'.*"
                                          r"axes.pe\[1\]: unknown PE variant 'bad2'"):
        sweep_from_dict({"axes": {"pe": ["bad1", "bad2", "good"]}}, canonical_pe=canonical)


def test_structural_errors():
    with pytest.raises(ConfigError, match=r"^<dict>: a sweep must be a mapping with keys name, "):
        sweep_from_dict([1, 2])
    with pytest.raises(ConfigError, match=r"axes.pe is missing"):
        sweep_from_dict({"axes": {"array": "8x8"}})
    with pytest.raises(ConfigError, match=r"give either axes.array \(ROWSxCOLS\) or axes.array_rows"):
        sweep_from_dict({"axes": {"pe": "x", "array": "8x8", "array_rows": 4}})
    with pytest.raises(ConfigError, match=r"the sweep has 4 points, more than max_points=3"):
        sweep_from_dict({"max_points": 3, "axes": {"pe": ["a", "b"], "array": ["8x8", "4x4"]}})


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("axes: {pe: [a,\n")
    with pytest.raises(ConfigError, match=r"^.*s.yaml: malformed YAML"):
        load_sweep(bad)
    with pytest.raises(ConfigError, match=r"^cannot read sweep file '.*nope.yaml'"):
        load_sweep(tmp_path / "nope.yaml")


def test_presets_are_listed_and_unknown_names_rejected():
    names = preset_names()
    assert "default" in names
    assert preset_path("default").is_file()
    with pytest.raises(ConfigError, match=r"^unknown preset 'nope'; valid presets: " + ", ".join(names) + "$"):
        preset_path("nope")


def test_point_builds_a_valid_design():
    d = Point(Workload(), "x", array_rows=4, array_cols=8, weight_buffer_kib=2).to_design("PE")
    assert (d.array.rows, d.array.cols, d.pe) == (4, 8, "PE")
    assert d.memory.weight_buffer.capacity_bits == 2 * 8 * 1024


def test_a_list_of_models_runs_the_grid_on_each():
    s = sweep_from_dict({"workload": {"model": ["a", "b"], "batch": 4}, "axes": {"pe": ["x", "y"], "array": "8x8"}})
    assert [w.model for w in s.workloads] == ["a", "b"] and all(w.batch == 4 for w in s.workloads)
    assert [(p.workload.model, p.pe) for p in s.points] == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    assert len(s.arith_configs()) == 4


def test_also_grids_add_points_with_their_own_axes_and_workload_overrides():
    s = sweep_from_dict({"workload": {"model": "a", "batch": 2, "prefill_tokens": 8},
                         "axes": {"pe": ["x", "y"], "array": "8x8"},
                         "also": [{"axes": {"pe": "x", "array": "8x8", "kv_cache_format": ["bfp12_b32", None]}},
                                  {"workload": {"model": ["b", "c"], "batch": 4},
                                   "axes": {"pe": "z", "array": "4x4"}}]})
    assert [w.model for w in s.workloads] == ["a", "b", "c"]
    assert [(w.batch, w.prefill_tokens) for w in s.workloads] == [(2, 8), (4, 8), (4, 8)]  # the rest inherited
    got = [(p.workload.model, p.pe, p.array_rows, p.kv_cache_format) for p in s.points]
    # the second grid's kv=None point equals a main-grid point: evaluated once
    assert got == [("a", "x", 8, None), ("a", "y", 8, None), ("a", "x", 8, "bfp12_b32"), ("b", "z", 4, None),
                   ("c", "z", 4, None)]


def test_also_problems_are_reported_with_the_rest():
    with pytest.raises(ConfigError) as ei:
        sweep_from_dict({"axes": {"pe": "x"}, "also": [{"axes": {"array": "8x8"}, "colour": 1}, 3,
                                                        {"workload": {"batch": 0}, "axes": {"pe": "x"}}]})
    msg = str(ei.value)
    assert msg.startswith("<dict>: 4 problem(s): ")
    for needle in ("also[0].axes.pe is missing", "unknown key also[0].'colour'; valid keys: workload, axes",
                   "also[1] must be a mapping with keys workload, axes, got 3",
                   "workload.batch must be an integer >= 1, got 0"):
        assert needle in msg, (needle, msg)
    with pytest.raises(ConfigError, match=r"^<dict>: 1 problem\(s\): also must be a list of grids"):
        sweep_from_dict({"axes": {"pe": "x"}, "also": {"axes": {}}})


def test_workload_context_is_the_prompt_length():
    def sweep(workload):
        return sweep_from_dict({"workload": {"model": "llama2-7b", **workload}, "axes": {"pe": ["int8_mac"]}})

    assert sweep({"context": 2048, "batch": 64}).workload == sweep({"prefill_tokens": 2048, "batch": 64}).workload
    with pytest.raises(ConfigError, match=r"workload\.context is workload\.prefill_tokens: give one of them, not "
                                          r"both"):
        sweep({"context": 2048, "prefill_tokens": 64})
    with pytest.raises(ConfigError, match=r"workload\.context must be an integer >= 1, got 0"):
        sweep({"context": 0})
