"""Assert that a call fails with the project's error before allocating: peak traced memory stays small."""

import re
import tracemalloc

import pytest

#: Far below what any refused request would allocate (gigabytes to exabytes), far above the check itself.
SMALL_BYTES = 32 << 20


def raises_small(exc_type, pattern: str, fn, *args, max_bytes: int = SMALL_BYTES, **kwargs):
    """``fn(*args, **kwargs)`` raises ``exc_type`` matching ``pattern`` while tracing under ``max_bytes``."""
    tracemalloc.start()
    try:
        with pytest.raises(exc_type) as info:
            fn(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    assert re.match(pattern, str(info.value)), str(info.value)
    assert peak < max_bytes, f"peak traced memory {peak:,} B before the error"
    return info.value


def run_cli(argv: list[str]):
    """The command function of ``accel ARGV`` (values checked as ``main`` does), called so errors propagate."""
    from accel.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)
