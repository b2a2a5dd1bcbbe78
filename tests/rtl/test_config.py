"""rtl.config: the registry binding each accel.pe spec class to its RTL."""

import dataclasses

import pytest

from accel import pe
from accel.errors import ConfigError
from rtl import config

pytestmark = pytest.mark.unit


def test_every_pe_variant_has_an_rtl_binding():
    assert set(config.variants_with_rtl()) == set(pe.names())
    for name in pe.names():
        assert isinstance(config.binding(pe.get(name)), config.RtlBinding), name


def test_a_spec_subclass_takes_its_registered_binding():
    assert config.binding(pe.get("fp16_dequant_first")) is config.binding(pe.get("mixpe_w4a16"))


def test_an_unbound_spec_class_is_named_in_the_error():
    @dataclasses.dataclass(frozen=True)
    class Unbound(pe.PESpec):
        NAME = "unbound_pe"

    with pytest.raises(ConfigError, match=r"^no RTL for PE variant 'unbound_pe'; variants with RTL: int8_mac, "):
        config.binding(Unbound())


@pytest.mark.parametrize(("text", "expected"), [("mixpe_w4a8", True), ("mixpe_w4a16", True),
                                                ("mixpe_w4a16:dequant=in_loop", False),
                                                ("fp16_dequant_first", False), ("int8_mac", False),
                                                ("block_mac", False)])
def test_group_dequant_belongs_to_mixpe_per_group(text, expected):
    assert config.has_group_dequant(pe.parse(text)) is expected
    assert config.group_dequant_variants() == ["mixpe_w4a8", "mixpe_w4a16"]
