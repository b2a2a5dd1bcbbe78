"""Fuzz harness: every input either loads or raises the project's own error, within a time and memory bound.

:func:`fuzz_tests` turns one check into two tests: a quick, derandomised one in the default run and a
long, random one under ``slow``.  The time bound is Hypothesis' per-example deadline; the memory bound
is the peak of the Python heap (tracemalloc, which numpy reports its buffers to) while the check runs.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accel.errors import AccelError

FAST_EXAMPLES = 40
SLOW_EXAMPLES = 2000
DEADLINE = timedelta(seconds=5)  # a refusal takes milliseconds; the margin absorbs a loaded CI machine
PEAK_BYTES = 64 * 2 ** 20
MESSAGE_CHARS = 20_000  # 50 problems at most, each quoting at most ~200 characters of a value


def _bounded(check: Callable[[object], object]) -> Callable[[object], None]:
    def run(data) -> None:
        tracemalloc.start()
        try:
            check(data)
        except AccelError as exc:
            assert len(str(exc)) <= MESSAGE_CHARS, str(exc)[:1000]
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak <= PEAK_BYTES, f"peak Python heap {peak / 2 ** 20:.1f} MiB"
    return run


def fuzz_tests(name: str, strategy: st.SearchStrategy, check: Callable[[object], object]):
    """(quick test, slow test) running ``check`` on inputs drawn from ``strategy``."""
    tests = []
    for examples, marks in ((FAST_EXAMPLES, [pytest.mark.fuzz]), (SLOW_EXAMPLES, [pytest.mark.fuzz, pytest.mark.slow])):
        run = _bounded(check)
        run.__name__ = run.__qualname__ = f"{name}_{examples}"
        test = settings(max_examples=examples, deadline=DEADLINE, database=None,
                        derandomize=examples == FAST_EXAMPLES,  # the default run sees the same inputs every time
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                               HealthCheck.filter_too_much])(given(strategy)(run))
        for mark in marks:
            test = mark(test)
        tests.append(test)
    return tuple(tests)


# ------------------------------------------------------------------------------------------ shared strategies
#: Characters that change how YAML parses, for mutations.
YAML_PUNCTUATION = list(":{}[],&*!|>-#'\"?%@`\n\t ") + ["<<: ", "&a ", "*a", "!!float ", "!!python/object ",
                                                         ".inf", ".nan", "0x4", "~", "---\n", "\x00", "\ufeff"]
EDGE_STRINGS = ["", " ", "0", "-1", "0x10", "1e999", "nan", "none", "true", "4x4", "0x4", "32x", "x32", "a" * 5000,
                "9" * 5000, "../../x", "/abs", "é", "\u202e", "int8_mac", "mixpe_w4a8", "q4_1", "bfp12_b32", "ws"]
EDGE_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 63 - 1, -(2 ** 63), 10 ** 30, 0.5, -0.0, 1e308, float("inf"), float("nan"),
                True, False]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from(EDGE_STRINGS), st.sampled_from(EDGE_NUMBERS))


def values(keys: list[str] | None = None, max_leaves: int = 30) -> st.SearchStrategy:
    """Nested YAML-able values; mapping keys drawn from ``keys`` (a schema's vocabulary) or any text."""
    key = st.text(max_size=8) | st.integers(-3, 3) | st.none()
    key = st.sampled_from(keys) | key if keys else key
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(key, inner, max_size=5),
                        max_leaves=max_leaves)


@st.composite
def mutated(draw, seed: str) -> bytes:
    """``seed`` with a few random edits: insertions of YAML punctuation or text, deletions, duplications."""
    text = seed
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "replace"]))
        if op == "insert":
            text = text[:i] + draw(st.sampled_from(YAML_PUNCTUATION) | st.text(max_size=6)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)):]
        elif op == "duplicate":
            j = min(len(text), i + draw(st.integers(1, 40)))
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(EDGE_STRINGS)) + text[i + draw(st.integers(0, 8)):]
    return text.encode("utf-8", "surrogatepass")


@st.composite
def hostile_yaml(draw, key: str) -> bytes:
    """Alias bombs, deep nesting, cycles, tags and long scalars placed under ``key``."""
    kind = draw(st.sampled_from(["bomb", "deep", "cycle", "tag", "long", "merge"]))
    if kind == "bomb":
        levels, width = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        from tests.core.yaml_cases import alias_bomb

        return alias_bomb(levels, width, key).encode()
    if kind == "deep":
        n = draw(st.integers(1, 5000))
        opener = draw(st.sampled_from(["[", "{a: ", "- "]))
        return (f"{key}: " + opener * n).encode()
    if kind == "cycle":
        return f"{key}: &x [1, {{b: *x}}]\n".encode()
    if kind == "tag":
        tag = draw(st.sampled_from(["!!float", "!!int", "!!bool", "!!timestamp", "!!binary", "!!set", "!!omap",
                                    "!!python/tuple", "!!str", "!custom", "!!null"]))
        return f"{key}: {tag} {draw(st.sampled_from(EDGE_STRINGS[:12]))}\n".encode()
    if kind == "long":
        return f"{key}: {'x' * draw(st.integers(1, 50_000))}\n".encode()
    return f"base: &b {{{key}: 1}}\nother: {{<<: [*b, *b], {key}: 2}}\n".encode()


def yaml_inputs(seed: str, keys: list[str], key: str) -> st.SearchStrategy:
    """Bytes for a YAML loader: dumped random structures, mutated seeds, hostile constructs and raw bytes."""
    import yaml

    def dump(v) -> bytes:
        return yaml.safe_dump(v, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")

    dumped = values(keys).map(dump)
    top = st.dictionaries(st.sampled_from(keys), values(keys), max_size=len(keys)).map(dump)
    return st.one_of(top, dumped, mutated(seed), hostile_yaml(key), st.binary(max_size=200))
