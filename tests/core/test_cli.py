import subprocess
import sys

import pytest

from accel.cli import build_parser, main

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
    out = subprocess.run([sys.executable, "-m", "accel.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "accel" in out.stdout


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: accel" in capsys.readouterr().out


UPPER = ("workloads", "sim", "rtl", "cost_models")


def test_every_package_registers_through_an_edge_the_import_graph_shows():
    import grimp

    graph = grimp.build_graph("accel", *UPPER, cache_dir=None)
    assert {f"{p}.cli" for p in UPPER} <= graph.find_modules_directly_imported_by("accel.cli")
    assert graph.find_modules_that_directly_import("accel.cli") == set()  # the exempt edges close no loop


def test_a_command_line_builds_every_command_with_help_or_an_unknown_command():
    every = {"formats", "pe", "workloads", "sim", "rtl", "cost", "explore"}

    def commands(argv):
        return set(next(a for a in build_parser(argv)._actions if a.dest == "command").choices)

    assert commands(None) == commands(["--help"]) == commands(["nosuch"]) == commands(["explore"]) == every
    assert commands(["-v", "formats", "list"]) == commands(["pe"]) == {"formats", "pe"}


def test_unknown_command_lists_every_choice(capsys):
    with pytest.raises(SystemExit) as info:
        main(["nosuch"])
    assert info.value.code == 2
    assert "invalid choice: 'nosuch'" in capsys.readouterr().err


def test_a_lower_package_command_loads_no_upper_package():
    code = ("import sys; from accel.cli import main; assert main(['formats', 'list', '--json']) == 0; "
            f"print([m for m in sys.modules if m.split('.')[0] in {UPPER!r}], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "[]"
    assert '"name": "float8_e4m3fn"' in out.stdout
