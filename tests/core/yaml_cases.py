"""Hostile YAML shared by the loader tests and the fuzz tier."""

from __future__ import annotations


def alias_bomb(levels: int = 9, width: int = 9, key: str = "array") -> str:
    """A "billion laughs" document: ``levels`` anchors, each a list of ``width`` aliases of the previous one.

    With the defaults it expands to 9**9 (387 million) leaves; ``key: *i`` references the last level.
    """
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for prev, name in zip(names, names[1:], strict=False):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * width)}]")
    lines.append(f"{key}: *{names[-1]}")
    return "\n".join(lines) + "\n"


def design_bomb() -> str:
    """The alias bomb in a design file (the anchors under ``name``, the bomb in ``array``)."""
    return "pe: int8_mac\n" + alias_bomb()


def sweep_bomb() -> str:
    """The alias bomb in a sweep: every level becomes a swept axis value list."""
    return "name: bomb\naxes:\n  pe: [int8_mac]\n" + "".join(f"  {line}\n" for line in alias_bomb().splitlines())
