import pytest

from accel.activity import Activity, key, parse_key
from accel.errors import ConfigError

pytestmark = pytest.mark.unit


def test_key_round_trip():
    assert key("int_mul", 8, 4) == "int_mul:8x4"
    assert parse_key("fp_mul:fp16xfp16") == ("fp_mul", ("fp16", "fp16"))


def test_unknown_kind_lists_valid_kinds():
    with pytest.raises(ConfigError, match=r"^unknown activity kind 'mull'; valid kinds: .*int_mul"):
        key("mull", 8)
    with pytest.raises(ConfigError, match=r"^malformed activity key 'int_mul'"):
        parse_key("int_mul")


def test_activity_merge_and_scale():
    a = Activity()
    a.add("int_add", 20, count=3)
    b = Activity.merge([a, a.scaled(2)])
    assert b.to_dict() == {"int_add:20": 9}
