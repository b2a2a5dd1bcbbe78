"""Registry, the one NAME[:key=value,...] / YAML parser, contract attributes and error messages."""

import dataclasses

import numpy as np
import pytest
import yaml

import accel.formats as formats
import accel.pe as pe
from accel.errors import ConfigError

pytestmark = pytest.mark.unit

EXAMPLES = ["mixpe_w4a8", "mixpe_w4a8:group_size=128,weight_format=uint4", "mixpe_w4a8:weight_format=q4_1",
            "mixpe_w4a8:group_size=16,acc_bits=12,overflow=wrap", "int8_mac", "int8_mac:acc_bits=24",
            "fp16_dequant_first:weight_format=q4_1", "mixpe_w4a16:group_size=64", "mixpe_w4a16:dequant=in_loop",
            "mixpe_w4a16:group_size=1024,weight_format=uint4,dequant=in_loop",
            "int8_mac:group_size=32,dequant=per_group",
            "int8_mac:weight_bits=6,acc_bits=24,overflow=saturate,group_size=128,dequant=per_group"]


def test_priority_variants_registered_first():
    assert pe.names()[:4] == ["mixpe_w4a8", "fp16_dequant_first", "int8_mac", "mixpe_w4a16"]


@pytest.mark.parametrize("text", EXAMPLES)
def test_string_round_trip_and_yaml_forms(text):
    spec = pe.parse(text)
    assert spec.to_string() == text
    assert pe.parse(spec.to_string()) == spec
    name, _, rest = text.partition(":")
    params = dict(kv.split("=") for kv in rest.split(",") if kv)
    mapping = yaml.safe_load(yaml.safe_dump({"name": name, **params}))
    assert pe.parse(mapping) == spec
    assert pe.parse({name: params or None}) == spec
    assert pe.parse(yaml.safe_load(f"pe: {text}")["pe"]) == spec


def test_typed_yaml_values_and_get():
    assert pe.parse(yaml.safe_load("pe: {name: mixpe_w4a8, group_size: 64}")["pe"]) == \
        pe.get("mixpe_w4a8", group_size=64)


@pytest.mark.parametrize("name", pe.names())
def test_contract_attributes(name):
    spec = pe.get(name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "x"
    assert spec.name == name
    assert isinstance(spec.weight_scheme, str) and isinstance(spec.act_scheme, str)
    for scheme in (spec.weight_scheme, spec.act_scheme):  # registry names (docs/contracts.md)
        assert formats.get(scheme).name == scheme
    assert spec.group_size is None or isinstance(spec.group_size, int)
    for attr in ("weight_bits", "act_bits", "out_bits", "macs_per_pe_per_cycle"):
        assert isinstance(getattr(spec, attr), int) and getattr(spec, attr) >= 1
    assert spec.weight_storage_bits >= spec.weight_bits and spec.act_storage_bits >= spec.act_bits
    assert spec.dequant in ("in_loop", "per_group", "per_output")
    d = spec.to_dict()
    assert d["spec"] == spec.to_string() and d["name"] == name


def test_storage_bits_include_scales():
    assert pe.get("mixpe_w4a8", group_size=32).weight_storage_bits == 4.5
    assert pe.get("mixpe_w4a8", weight_format="q4_1").weight_storage_bits == 5.0
    assert pe.get("mixpe_w4a8", weight_format="uint4", group_size=128).weight_storage_bits == 4 + 20 / 128


@pytest.mark.parametrize(("spec", "pattern"), [
    ("mixpe", r"^unknown PE variant 'mixpe'; valid variants: mixpe_w4a8, fp16_dequant_first, int8_mac"),
    ("mixpe_w4a8:gs=3", r"^invalid PE spec 'mixpe_w4a8:gs=3': unknown parameter 'gs' .*valid parameters: "
                        r"group_size, weight_format"),
    ("mixpe_w4a8:group_size=x", r"^invalid PE spec 'mixpe_w4a8:group_size=x': group_size must be an integer, "
                                r"got 'x'$"),
    ("mixpe_w4a8:weight_format=int3", r"^invalid PE spec 'mixpe_w4a8': weight_format must be one of int4, uint4, "
                                      r"q4_0, q4_1, got 'int3'$"),
    ({"name": "mixpe_w4a8", "weight_format": "q4_1", "group_size": 64},
     r"^invalid PE spec 'mixpe_w4a8': weight_format 'q4_1' has a fixed group_size of 32, got 64$"),
    ({"mixpe_w4a8": {"group_size": 0, "acc_bits": 1}},
     r"^invalid PE spec 'mixpe_w4a8': group_size must be in 1\.\.4096, got 0; acc_bits must be in 2\.\.62 or none, "
     r"got 1$"),
    ("int8_mac:acc_bits", r"^malformed PE spec 'int8_mac:acc_bits' .*expected key=value, got 'acc_bits'$"),
    ("mixpe_w4a8:foo=1,group_size=0", r"^invalid PE spec 'mixpe_w4a8:foo=1,group_size=0': unknown parameter 'foo' "
                                      r".*; group_size must be in 1\.\.4096, got 0$"),
    (3, r"^a PE spec must be a string"),
    ("fp16_dequant_first:dequant=per_group", r"^invalid PE spec 'fp16_dequant_first': dequant must be one of in_loop "
                                             r"for 'fp16_dequant_first', got 'per_group' \(.*mixpe_w4a16:dequant="),
    ("mixpe_w4a16:dequant=per_output", r"^invalid PE spec 'mixpe_w4a16': dequant must be one of per_group, in_loop "
                                       r"for 'mixpe_w4a16', got 'per_output' \(per_output needs one weight scale"),
    ("mixpe_w4a16:group_size=1024", r"^invalid PE spec 'mixpe_w4a16': group_size must be in 1\.\.512, got 1024$"),
    ("mixpe_w4a8:dequant=in_loop", r"^invalid PE spec 'mixpe_w4a8': dequant must be one of per_group for "
                                   r"'mixpe_w4a8', got 'in_loop' \("),
    ("int8_mac:dequant=in_loop", r"^invalid PE spec 'int8_mac': dequant must be one of per_output, per_group for "
                                 r"'int8_mac', got 'in_loop' \(in_loop has no FP operand"),
    ("int8_mac:group_size=32", r"^invalid PE spec 'int8_mac': group_size must be none with dequant='per_output' "
                               r"\(per-channel weight scales\), got 32; set dequant=per_group"),
    ("int8_mac:dequant=per_group", r"^invalid PE spec 'int8_mac': group_size must be in 1\.\.4096 with "
                                   r"dequant='per_group', got None$"),
])
def test_errors_show_value_and_choices(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        pe.parse(spec)


def test_quantized_weights_must_match_group_size():
    from accel.pe.operands import quantize_weights

    gw = quantize_weights(np.ones((64, 2)), "int4", 16)
    with pytest.raises(ConfigError, match=r"^weights are quantized with group size 16 but the PE spec has "
                                          r"group_size=32; set group_size=16$"):
        pe.get("mixpe_w4a8").gemm(np.ones((1, 64)), gw)


@pytest.mark.parametrize("name", pe.names())
def test_docstring_states_rounding_and_overflow(name):
    doc = pe.variant(name).__doc__
    assert "Rounding:" in doc and "Overflow:" in doc
    assert ("saturat" in doc or "wrap" in doc or "inf" in doc) and "counted" in doc


VALID_DEQUANT = {"mixpe_w4a8": ["per_group"], "fp16_dequant_first": ["in_loop"],
                 "int8_mac": ["per_output", "per_group"], "mixpe_w4a16": ["per_group", "in_loop"],
                 "minifloat_mac": ["per_output"], "block_mac": ["per_group"], "lmul": ["per_output"]}


@pytest.mark.parametrize("name", pe.names())
def test_dequant_is_a_parameter_of_every_variant(name):
    spec = pe.get(name)
    assert pe.parse(f"{name}:dequant={spec.dequant}") == spec and spec.to_string() == name
    valid = VALID_DEQUANT[name]
    assert spec.to_dict()["dequant_valid"] == valid and spec.dequant == valid[0]
    for place in ("in_loop", "per_group", "per_output"):
        extra = {"group_size": 32} if (name, place) == ("int8_mac", "per_group") else {}
        if place in valid:
            assert pe.get(name, dequant=place, **extra).dequant == place
        else:
            with pytest.raises(ConfigError, match=rf"dequant must be one of {', '.join(valid)} for {name!r}, got "
                                                  rf"{place!r} \(.+\)"):
                pe.get(name, dequant=place, **extra)


def test_fp16_dequant_first_is_a_preset_of_the_w4a16_implementation():
    from accel.pe.mixpe import MixPEW4A16

    preset = pe.get("fp16_dequant_first", weight_format="q4_1")
    assert isinstance(preset, MixPEW4A16) and preset.dequant == "in_loop"
    same = pe.get("mixpe_w4a16", weight_format="q4_1", dequant="in_loop")
    assert type(preset).gemm is type(same).gemm and type(preset).activity_for is type(same).activity_for
    assert preset.to_dict()["dequant_valid"] == ["in_loop"]
    assert same.to_dict()["dequant_valid"] == ["per_group", "in_loop"]
