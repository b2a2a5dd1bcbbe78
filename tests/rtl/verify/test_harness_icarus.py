"""The board harness under cocotb + Icarus: SPI load, one GEMM tile, read back, bit-exact vs the golden model."""

import pytest

from accel.pe import parse
from rtl.verify.harness_checks import check_harness

pytestmark = [pytest.mark.simulator_required, pytest.mark.usefixtures("need_icarus")]


def test_int8_tile_through_spi_is_bit_exact(tmp_path):
    """Odd shape (2 x 3 array, 5 activation rows), depth 8: every result and the status word read back."""
    report = check_harness(parse("int8_mac"), 2, 3, 5, depth=8, workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 15 and report.extra["pins"] == ["cs_n", "miso", "mosi", "sck"]


@pytest.mark.slow
def test_mixpe_4x4_tile_with_activation_sums_is_bit_exact(tmp_path):
    report = check_harness(parse("mixpe_w4a8"), 4, 4, 7, workdir=tmp_path)
    assert report.ok, report.first_mismatch
    assert report.results == 28
