import re
import subprocess

import pytest

from accel.provenance import git_commit, provenance

pytestmark = pytest.mark.unit


def test_provenance_names_tool_version_and_commit():
    p = provenance()
    assert p["tool"] == "accel" and re.fullmatch(r"\d+\.\d+\.\d+.*", p["version"])
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # running from a checkout: the recorded commit is HEAD's
        assert git_commit().removesuffix("-dirty") == head.stdout.strip()
