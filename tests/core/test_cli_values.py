"""Bad command-line values and small bad inputs: a ConfigError naming the flag and the value, before any work."""

from __future__ import annotations

import math

import pytest

from accel.design import ArraySpec, MemorySpec, design_from_dict, load_design
from accel.errors import ConfigError
from tests.bounded import raises_small, run_cli

pytestmark = pytest.mark.unit

SIM = ["sim", "--pe", "int8_mac", "--array", "4x4", "--gemm", "4,4,4"]


def test_duplicate_pe_spec_keys_are_refused():
    from accel import pe

    raises_small(ConfigError, r"^malformed PE spec 'mixpe_w4a8:group_size=4,group_size=2' \(form NAME\[:key=value,"
                              r"\.\.\.\]\): parameter 'group_size' given twice \('4' and '2'\); give each parameter "
                              r"once$", pe.parse, "mixpe_w4a8:group_size=4,group_size=2")
    raises_small(ConfigError, r"^malformed PE spec .* given twice", run_cli,
                 ["sim", "--pe", "mixpe_w4a8:group_size=4,group_size=2", "--gemm", "4,4,4"])


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
@pytest.mark.parametrize("argv, flag", [(SIM, "--dram-bw"), (["cost", *SIM[1:], "--analytic"], "--freq-mhz"),
                                        (["cost", *SIM[1:], "--analytic"], "--node-nm"),
                                        (["cost", *SIM[1:], "--analytic"], "--vdd-v")])
def test_non_finite_numbers_on_the_command_line_are_refused(argv, flag, value):
    shown = {"1e999": "inf"}.get(value, value)
    raises_small(ConfigError, rf"^{flag} must be a finite number, got {shown}$", run_cli, [*argv, f"{flag}={value}"])


@pytest.mark.parametrize("field, value", [("dram_bandwidth_bytes_per_cycle", math.inf),
                                          ("dram_bandwidth_bytes_per_cycle", math.nan)])
def test_the_design_validator_refuses_non_finite_numbers(field, value):
    with pytest.raises(ConfigError, match=rf"^invalid memory spec: memory\.{field} must be a positive number, "
                                          rf"got {value!r}$"):
        MemorySpec(**{field: value})
    with pytest.raises(ConfigError, match=r"^invalid array spec: array\.freq_mhz must be a positive number, got inf$"):
        ArraySpec(freq_mhz=math.inf)
    with pytest.raises(ConfigError, match=rf"^<dict>: memory\.{field} must be a positive number, got {value!r}$"):
        design_from_dict({"pe": "int8_mac", "memory": {field: value}})


@pytest.mark.parametrize("argv, flag, low", [
    (["rtl", "verify", "--pe", "int8_mac", "--vectors", "-1"], "--vectors", 1),
    (["rtl", "verify", "--pe", "int8_mac", "--seed", "-1"], "--seed", 0),
    (["sim", "--pe", "int8_mac", "--model", "llama2-7b", "--tokens", "-1"], "--tokens", 1),
    (["cost", "--pe", "int8_mac", "--model", "llama2-7b", "--tokens", "0"], "--tokens", 1),
    (["cost", "--pe", "int8_mac", "--model", "llama2-7b", "--batch", "-2"], "--batch", 1),
    (["workloads", "trace", "llama2-7b", "--tokens", "-1", "-o", "x"], "--tokens", 1),
    (["workloads", "trace", "llama2-7b", "--batch", "0", "-o", "x"], "--batch", 1),
    (["workloads", "trace", "smollm2-135m", "--decode-steps", "-3", "-o", "x"], "--decode-steps", 1),
    (["workloads", "accuracy", "smollm2-135m", "--tokens", "1"], "--tokens", 4),
    (["workloads", "accuracy", "smollm2-135m", "--windows", "-1"], "--windows", 1),
])
def test_negative_counts_are_refused(argv, flag, low):
    bad = argv[argv.index(flag) + 1]
    raises_small(ConfigError, rf"^{flag} must be an integer >= {low}, got {bad}$", run_cli, argv)


def test_too_many_vectors_are_refused():
    raises_small(ConfigError, r"^--vectors must be at most 1,000,000 \(the documented limit\), got 10000000$",
                 run_cli, ["rtl", "verify", "--pe", "int8_mac", "--vectors", "10000000"])


@pytest.mark.parametrize("command", ["sim", "cost"])
@pytest.mark.parametrize("gemm", ["", "1,2", "1,2,0", "a,b,c", "1,2,3,4", "-1,2,3", "9" * 5000 + ",1,1"])
def test_a_bad_or_empty_gemm_is_named(command, gemm):
    shown = repr(gemm) if len(gemm) < 100 else r"'9+,1,1'"
    shown = shown if len(gemm) >= 100 else shown.replace("(", r"\(")
    raises_small(ConfigError, rf"^--gemm must be three positive integers M,N,K \(e\.g\. 256,1024,1024\), got "
                              rf"{shown}$", run_cli, [command, "--pe", "int8_mac", f"--gemm={gemm}"])


def test_a_binary_design_file_is_named(tmp_path):
    f = tmp_path / "design.yaml"
    f.write_bytes(b"pe: int8_mac\n\xff\xfe\x00binary")
    pattern = rf"^{tmp_path}/design\.yaml: a design file must be UTF-8 YAML text; byte 13 is 0xff \(a binary file\?\)$"
    raises_small(ConfigError, pattern, load_design, f)
    raises_small(ConfigError, pattern, run_cli, ["sim", "--design", str(f), "--gemm", "4,4,4"])


@pytest.mark.parametrize("argv", [
    [*SIM, "-o", "{file}"],
    ["rtl", "export", "--pe", "int8_mac", "-o", "{file}"],
    ["rtl", "verify", "--pe", "int8_mac", "-o", "{file}"],
    ["workloads", "trace", "llama2-7b", "-o", "{file}"],
    ["explore", "--evaluator", "tests.explore.toy:ToyEvaluator", "--spec", "tests/explore/toy_sweep.yaml",
     "-o", "{file}"],
])
def test_an_output_directory_that_is_a_file_is_named(tmp_path, argv):
    f = tmp_path / "existing"
    f.write_text("keep me")
    raises_small(ConfigError, rf"^-o/--(output|out) '{f}' is an existing file; expected a directory \(created when "
                              r"missing\)$", run_cli, [a.replace("{file}", str(f)) for a in argv])
    under = f / "sub"
    raises_small(ConfigError, rf"^-o/--(output|out) '{under}' cannot be created: '{f}' is a file, not a directory$",
                 run_cli, [a.replace("{file}", str(under)) for a in argv])
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("flag, name, pattern", [
    ("--out", "/nodir/x.csv", r"^--out '/nodir/x\.csv': directory '/nodir' does not exist; create it first$"),
    ("--out", "{tmp}", r"^--out '{tmp}' is a directory or empty; expected a file name$"),
    ("--out", "{tmp}/x.txt", r"^--out '{tmp}/x\.txt' must end in one of \.csv, \.parquet$"),
    ("--plot", "/nodir/x.png", r"^--plot '/nodir/x\.png': directory '/nodir' does not exist; create it first$"),
])
def test_cost_output_files_are_checked_before_the_sweep(tmp_path, flag, name, pattern):
    raises_small(ConfigError, pattern.replace("{tmp}", str(tmp_path)), run_cli,
                 ["cost", "--show", "mac-sweep", flag, name.replace("{tmp}", str(tmp_path))])


def test_an_unreachable_scheduler_is_named(tmp_path):
    from cost_models.explore.cli import check_scheduler

    pattern = (r"^cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:1' \(Connection refused\); start one there "
               r"\(`dask scheduler`\) or leave --scheduler unset to use local processes$")
    raises_small(ConfigError, pattern, check_scheduler, "tcp://127.0.0.1:1")
    raises_small(ConfigError, pattern.replace("tcp://", ""), check_scheduler, "127.0.0.1:1")
    raises_small(ConfigError, r"^--scheduler must be a Dask scheduler address like tcp://host:8786, got 'tcp://'$",
                 check_scheduler, "tcp://")
    raises_small(ConfigError, pattern, run_cli,
                 ["explore", "--evaluator", "tests.explore.toy:ToyEvaluator", "--spec", "tests/explore/toy_sweep.yaml",
                  "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["workloads", "accuracy", "smollm2-135m", "--tokens", "100000"],
                                  ["workloads", "trace", "smollm2-135m", "--tokens", "100000", "-o", "{tmp}"]])
def test_a_forward_pass_beyond_memory_is_refused_before_the_model_loads(tmp_path, argv):
    raises_small(ConfigError, r"^smollm2-135m and a forward pass over 100,000 tokens needs about [\d.,]+ TB of memory, "
                              r"more than the limit of", run_cli, [a.replace("{tmp}", str(tmp_path)) for a in argv])


@pytest.mark.parametrize("argv", [["sim", "--gemm", "4,4,4"], ["cost", "--gemm", "4,4,4", "--analytic"],
                                  ["rtl", "export", "-o", "unused"]])
def test_every_command_reads_the_design_flags_alike(tmp_path, argv):
    design = tmp_path / "d.yaml"
    design.write_text("pe: int8_mac\narray: {rows: 2, cols: 2}\n")
    raises_small(ConfigError, r"^--array '4x4' cannot be combined with --design \(the design has its array\)$",
                 run_cli, [*argv, "--design", str(design), "--array", "4x4"])
    if argv[0] != "sim":  # sim's parser itself refuses both or neither (a required mutually exclusive group)
        raises_small(ConfigError, rf"^give exactly one of --design FILE or --pe SPEC, got design={str(design)!r} "
                                  r"pe='int8_mac'$", run_cli, [*argv, "--design", str(design), "--pe", "int8_mac"])


def test_design_from_args_defaults_are_the_array_specs():
    from accel import pe
    from accel.design import Design, design_from_args

    assert design_from_args(None, "int8_mac") == Design(pe=pe.parse("int8_mac"), array=ArraySpec())
    assert design_from_args(None, "mixpe_w4a8", "4x8", dataflow="os", freq_mhz=250.0) == Design(
        pe=pe.parse("mixpe_w4a8"), array=ArraySpec(rows=4, cols=8, dataflow="os", freq_mhz=250.0))
