"""Bit-packing of codes, and QTensor bytes round trips for every scheme family (odd sizes included)."""

import numpy as np
import pytest

import accel.formats as F
from accel.quant import QTensor, pack_bits, packed_size, quantize, unpack_bits

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("bits", range(1, 17))
@pytest.mark.parametrize("count", [0, 1, 7, 33])
def test_pack_unpack_round_trip(bits, count):
    v = np.random.default_rng(bits * 100 + count).integers(0, 2**bits, count)
    packed = pack_bits(v, bits)
    assert packed.size == packed_size(count, bits)
    assert np.array_equal(unpack_bits(packed.tobytes(), bits, count), v)


def test_pack_order_is_lsb_first():
    # Oracle: numpy's own little-endian bit order; 4-bit values 1, 2 -> one byte 0x21.
    assert pack_bits([1, 2], 4).tolist() == [0x21]
    assert pack_bits([1, 0, 1], 1).tolist() == [0b101]
    assert pack_bits([0x3FF], 10).tolist() == [0xFF, 0x03]


@pytest.mark.parametrize("name", ["int4_g32", "int3_g16", "uint4_g32_asym", "uint2_per_channel_asym",
                                  "int8_per_channel", "float4_e2m1fn_g32_e8m0", "e3m2_g64_bf16", "mxfp4",
                                  "mxfp6_e3m2", "mxint8", "bfp12_b16", "bfp14_b64", "q4_0", "q4_1", "q8_0"])
@pytest.mark.parametrize("axis", [0, -1])
def test_qtensor_bytes_round_trip(name, axis):
    shape = (64, 5) if axis == 0 else (3, 128)
    x = np.random.default_rng(1).standard_normal(shape)
    q = quantize(x, name, axis=axis)
    data = q.to_bytes()
    assert len(data) * 8 >= x.size * F.get(name).bits_per_element - 7
    back = QTensor.from_bytes(data, name, x.shape, axis=axis)
    assert np.array_equal(back.codes, q.codes) and np.array_equal(back.scales, q.scales)
    assert np.array_equal(back.dequantize(), q.dequantize())
    if q.zeros is not None:
        assert np.array_equal(back.zeros, q.zeros)


def test_storage_matches_bits_per_element():
    x = np.zeros((4, 128))
    assert len(quantize(x, "int4_g128").to_bytes()) == 4 * (128 * 4 + 16) // 8
    assert len(quantize(x, "uint4_g32_asym").to_bytes()) == 16 * (16 + 4) // 8 + 4 * 128 * 4 // 8
    assert F.get("uint4_g32_asym").bits_per_element == 4 + 20 / 32
    assert F.get("q4_0").bits_per_element == 4.5 and F.get("q4_1").bits_per_element == 5.0
    assert F.get("q8_0").bits_per_element == 8.5
