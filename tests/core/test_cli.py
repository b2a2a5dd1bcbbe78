import subprocess
import sys

import pytest

from cost_models.cli import build_parser, main

pytestmark = pytest.mark.unit


def _subcommand_parsers(parser, prefix=()):
    """Yield (path, parser) for every leaf subcommand."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from _subcommand_parsers(sub, prefix + (name,))
            return
    yield prefix, parser


def test_every_subcommand_has_help_and_json():
    leaves = list(_subcommand_parsers(build_parser()))
    assert leaves, "no subcommands registered"
    for path, p in leaves:
        opts = {o for a in p._actions for o in a.option_strings}
        assert "--json" in opts, f"accel {' '.join(path)} lacks --json"
        assert "--help" in opts


def test_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "cost_models.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "accel" in out.stdout


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: accel" in capsys.readouterr().out
