import pytest

from accel.design import ArraySpec, DequantSpec, design_from_dict, load_design
from accel.errors import ConfigError

pytestmark = pytest.mark.unit


def test_array_spec_validates():
    with pytest.raises(ConfigError, match=r"^invalid array spec: array.rows must be an integer in 1..4096, got 0"):
        ArraySpec(rows=0)
    with pytest.raises(ConfigError, match=r"array.dataflow must be one of ws, os, is, got 'xx'"):
        ArraySpec(dataflow="xx")
    assert ArraySpec.parse_shape("16x8") == (16, 8)
    with pytest.raises(ConfigError, match=r"^array shape must be written ROWSxCOLS"):
        ArraySpec.parse_shape("16*8")


def test_dequant_spec_validates():
    with pytest.raises(ConfigError, match=r"dequant.placement must be one of per_pe, column_edge, vector_unit"):
        DequantSpec(placement="edge")


def test_design_reports_every_problem_at_once(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("array: {rows: 0, cols: -1, dataflow: zz}\nmemory: {dram_latency_cycles: -3}\nfoo: 1\n")
    with pytest.raises(ConfigError) as ei:
        load_design(bad)
    msg = str(ei.value)
    for needle in ("array.rows", "array.cols", "array.dataflow", "dram_latency_cycles",
                   "unknown top-level key 'foo'", "missing required key 'pe'"):
        assert needle in msg, (needle, msg)


def test_malformed_yaml(tmp_path):
    bad = tmp_path / "d.yaml"
    bad.write_text("array: {rows: [1,\n")
    with pytest.raises(ConfigError, match=r"malformed YAML"):
        load_design(bad)
    with pytest.raises(ConfigError, match=r"^cannot read design file"):
        load_design(tmp_path / "missing.yaml")


def test_not_a_mapping():
    with pytest.raises(ConfigError, match=r"a design must be a mapping"):
        design_from_dict([1, 2])


def test_workload_section_is_validated_with_every_other_problem():
    from accel.design import WorkloadSpec

    d = design_from_dict({"pe": "int8_mac", "workload": {"context": 2048, "batch": 64}})
    assert d.workload == WorkloadSpec(context=2048, batch=64)
    assert design_from_dict({"pe": "int8_mac"}).workload == WorkloadSpec()
    with pytest.raises(ConfigError) as ei:
        design_from_dict({"pe": "int8_mac", "array": {"rows": 0},
                          "workload": {"context": 0, "batch": True, "steps": 3}})
    msg = str(ei.value)
    for needle in ("array.rows", "workload.context must be an integer >= 1 or omitted, got 0",
                   "workload.batch must be an integer >= 1 or omitted, got True",
                   "unknown key workload.'steps'; valid keys: batch, context"):
        assert needle in msg, (needle, msg)
    with pytest.raises(ConfigError, match=r"^<dict>: workload must be a mapping, got list \[2048\]$"):
        design_from_dict({"pe": "int8_mac", "workload": [2048]})
