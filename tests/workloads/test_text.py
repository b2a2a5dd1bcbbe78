"""Evaluation text and its fixed token windows."""

from __future__ import annotations

import numpy as np
import pytest

from accel.errors import WorkloadError
from workloads.text import calibration_text, load_text, topics_text, windows

pytestmark = pytest.mark.unit


def test_topics_text_is_cpython_docs():
    from pydoc_data.topics import topics

    text, desc = load_text()
    assert text == topics_text()
    assert topics["assert"] in text and len(text) > 100_000
    assert desc["source"].endswith("pydoc_data/topics.py") and len(desc["sha256"]) == 64


def test_user_text(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world", encoding="utf-8")
    assert load_text(p)[0] == "hello world"
    with pytest.raises(WorkloadError, match=r"^text file '.*nope\.txt' does not exist$"):
        load_text(tmp_path / "nope.txt")
    p.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(WorkloadError, match=r"^cannot read text file '.*t\.txt' as UTF-8"):
        load_text(p)
    p.write_text("  \n")
    with pytest.raises(WorkloadError, match=r"^evaluation text '.*t\.txt' is empty$"):
        load_text(p)


def test_windows_are_fixed_and_span_the_text():
    ids = np.arange(1000)
    w = windows(ids, 64, 4)
    assert [int(x[0]) for x in w] == [0, 312, 624, 936]
    assert all(len(x) == 64 for x in w) and int(w[-1][-1]) == 999
    assert [x.tolist() for x in windows(ids, 64, 4)] == [x.tolist() for x in w]
    assert windows(ids, 10, 1)[0].tolist() == list(range(10))


@pytest.mark.parametrize("length, count, pattern", [
    (1, 2, r"^window length must be an integer >= 2 tokens, got 1$"),
    (8, 0, r"^window count must be a positive integer, got 0$"),
    (2000, 1, r"^text has 1000 tokens, fewer than one window of 2000$"),
])
def test_window_errors(length, count, pattern):
    with pytest.raises(WorkloadError, match=pattern):
        windows(np.arange(1000), length, count)


def test_calibration_text_is_the_zen_of_python_and_disjoint(capsys):
    zen = calibration_text()
    assert zen.startswith("The Zen of Python, by Tim Peters") and "Beautiful is better than ugly." in zen
    assert capsys.readouterr().out == ""  # read from source: importing `this` would print it
    assert "Beautiful is better than ugly" not in topics_text()
