"""accel.limits: where the limits come from, what the messages say, and --force."""

import pytest

from accel import limits
from accel.errors import ConfigError, TraceError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text, value", [("1000", 1000), ("512M", 512 << 20), ("8G", 8 << 30), ("1.5k", 1536),
                                         ("2GiB", 2 << 30), ("3 T", 3 << 40)])
def test_memory_limit_from_the_environment(monkeypatch, text, value):
    monkeypatch.setenv(limits.MEMORY_ENV, text)
    got, source = limits.memory_limit()
    assert got <= value
    if got == value:
        assert source == limits.MEMORY_ENV


def test_memory_limit_is_at_most_what_the_machine_has(monkeypatch):
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    got, _ = limits.memory_limit()
    avail = limits.available_memory()
    assert avail is not None and 0 < got <= avail * limits.MEMORY_SHARE


@pytest.mark.parametrize("text", ["lots", "-1G", "8X", ""])
def test_bad_memory_setting_named(monkeypatch, text):
    monkeypatch.setenv(limits.MEMORY_ENV, text)
    if text == "":
        limits.memory_limit()  # unset: the machine's limit
        return
    with pytest.raises(ConfigError, match=rf"^ACCEL_MAX_MEMORY must be a size in bytes like 8000000000, 512M or 8G, "
                                          rf"got '{text}'$"):
        limits.memory_limit()


@pytest.mark.parametrize("text", ["0", "-5", "inf", "nan", "soon"])
def test_bad_time_setting_named(monkeypatch, text):
    monkeypatch.setenv(limits.SECONDS_ENV, text)
    with pytest.raises(ConfigError, match=rf"^ACCEL_MAX_SECONDS must be a positive number of seconds, got '{text}'$"):
        limits.time_limit()


def test_memory_beyond_the_limit_is_refused_even_with_force(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "1M")
    est = limits.Estimate("holding a thing", 2e6)
    for force in (None, False, True):
        with pytest.raises(TraceError, match=r"^holding a thing needs about 2 MB of memory, more than the limit of "
                                             r"1\.05 MB \(ACCEL_MAX_MEMORY\); ask for less \(set ACCEL_MAX_MEMORY to "
                                             r"lower the limit\)$"):
            limits.check(est, error=TraceError, force=force)
    limits.check(limits.Estimate("a small thing", 1e6))


def test_time_beyond_the_limit_needs_force(monkeypatch):
    monkeypatch.setenv(limits.SECONDS_ENV, "10")
    est = limits.Estimate("doing a thing", 0.0, 90.0)
    with pytest.raises(ConfigError, match=r"^doing a thing would take about 1\.5 min, longer than the limit of 10 s "
                                          r"\(ACCEL_MAX_SECONDS\); pass --force to run it anyway$"):
        limits.check(est, force=False)
    with pytest.raises(ConfigError, match=r"; set ACCEL_MAX_SECONDS to allow it$"):
        limits.check(est, force=None)
    limits.check(est, force=True)
    monkeypatch.delenv(limits.SECONDS_ENV)
    assert limits.time_limit() == limits.DEFAULT_MAX_SECONDS


@pytest.mark.parametrize("value, text", [(999, "999 B"), (1500, "1.5 kB"), (2.5e9, "2.5 GB"), (1.5e15, "1,500 TB")])
def test_bytes_are_written_for_people(value, text):
    assert limits.fmt_bytes(value) == text


@pytest.mark.parametrize("value, text", [(0.5, "0.5 s"), (90, "1.5 min"), (7200, "2 h"), (3.156e9, "100 years")])
def test_seconds_are_written_for_people(value, text):
    assert limits.fmt_seconds(value) == text


SMOLLM2 = dict(n_layers=30, hidden=576, ffn=1536, n_heads=9, n_kv_heads=3, vocab=49152)


def test_decoder_forward_grows_with_the_square_of_the_tokens():
    small, big = (limits.decoder_forward("x", t, **SMOLLM2).bytes for t in (100_000, 200_000))
    assert big == pytest.approx(4 * small, rel=0.01)

