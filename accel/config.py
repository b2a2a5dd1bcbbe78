"""The one reader of configuration files (designs, sweeps and presets, cost tables, calibration data).

Every YAML file the toolkit reads goes through :func:`read_yaml`, which refuses, with a
:class:`ConfigError` naming the file, anything that could take a process down or be read two ways:

- files over :data:`MAX_BYTES`, and bytes that are not UTF-8 text;
- nesting deeper than :data:`MAX_DEPTH`, and alias graphs that expand to more than :data:`MAX_NODES`
  nodes or refer to themselves (an "alias bomb" is counted on the composed node graph, whose aliases
  are shared references, before any Python object is built);
- duplicate mapping keys (YAML would silently keep the last), non-finite numbers (``.inf``, ``.nan``,
  ``1e999``), integers outside the signed 64-bit range, and values their explicit tag cannot build;
- integers that are not plain decimals: ``0x4`` or ``010`` stay strings (YAML 1.1 would read them as 4
  and 8, so an array shape ``0x4`` would become the number 4).  ``1e5`` is a float, as in YAML 1.2.

The callers validate the parsed data and quote values with :func:`accel.errors.short_repr`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from accel.errors import ConfigError, short_repr

MAX_BYTES = 1 << 20  # the largest shipped file is 14 kB
MAX_NODES = 100_000  # after alias expansion
MAX_DEPTH = 64
INT_BITS = 64  # integers outside the signed 64-bit range are refused

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_EXP = r"(?:[eE][-+]?[0-9]+)?"
_FLOAT_RE = re.compile(rf"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*{_EXP}|\.[0-9][0-9_]*{_EXP}|[0-9][0-9_]*[eE][-+]?[0-9]+
                                 |\.(?:inf|Inf|INF))
                               |\.(?:nan|NaN|NAN))$""", re.X)
_INT_RE = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML the reader will not build (limits, duplicates, non-finite numbers)."""


class _Loader(yaml.SafeLoader):
    # PyYAML's YAML 1.1 resolvers minus int and float, which are replaced below.
    yaml_implicit_resolvers = {c: [(tag, rx) for tag, rx in rs if tag not in (_INT, _FLOAT)]
                               for c, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, token_class):
        # Refused while scanning: PyYAML looks up to 1024 characters ahead for a key after each '[' or '{'.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):  # e.g. ``!!float x``
            raise _Refused(None, None, f"cannot read {short_repr(node.value)} as {node.tag}",
                           node.start_mark) from None

    def construct_yaml_int(self, node):
        value = super().construct_yaml_int(node) if len(node.value) <= 40 else None
        if value is None or not -(1 << (INT_BITS - 1)) <= value < 1 << (INT_BITS - 1):
            raise _Refused(None, None, f"integer {short_repr(node.value)} is outside the signed {INT_BITS}-bit range",
                           node.start_mark)
        return value

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(None, None, f"non-finite number {short_repr(node.value)}; numbers must be finite",
                           node.start_mark)
        return value


_Loader.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+0123456789."))
_Loader.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_Loader.add_constructor(_INT, _Loader.construct_yaml_int)
_Loader.add_constructor(_FLOAT, _Loader.construct_yaml_float)


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """Refuse a key written twice in one mapping (YAML would keep the last silently); merges may override."""
    first: dict[tuple[str, str], yaml.Mark] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
            mark = first.setdefault((key.tag, key.value), key.start_mark)
            if mark is not key.start_mark:
                raise _Refused(None, None, f"duplicate key {short_repr(key.value)} (first given at {_where(mark)})",
                               key.start_mark)


def _check_expansion(root) -> None:
    """Count the nodes ``root`` expands to (aliases expanded), without expanding; refuse cycles and bombs."""
    size: dict[int, int] = {}
    open_nodes: set[int] = set()  # the current path from the root
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in _children(node))
            if size[id(node)] > MAX_NODES:
                raise _Refused(None, None, f"aliases expand this document to more than {MAX_NODES:,} nodes "
                                           "(an alias bomb?)", node.start_mark)
            continue
        if id(node) in size:
            continue
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node)
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _Refused(None, None, "an alias refers to a node that contains it (a recursive structure)",
                               node.start_mark)
            if id(child) not in size:
                stack.append((child, False))


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"


def _clip(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse one YAML document under the limits above; ``source`` names it in messages."""
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:  # in a generator
        raise ConfigError(f"{source}: malformed YAML: a value cannot be built: {_clip(str(exc))}") from None
    except _Refused as exc:
        raise ConfigError(f"{source}: {exc.problem} at {_where(exc.problem_mark)}") from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(f"{source}: unprintable character #x{exc.character:04x} at character {exc.position}; "
                          "expected YAML text") from None
    except yaml.MarkedYAMLError as exc:
        context = f" ({_clip(exc.context)} at {_where(exc.context_mark)})" if exc.context else ""
        raise ConfigError(f"{source}: malformed YAML: {_clip(exc.problem)} at {_where(exc.problem_mark)}"
                          f"{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: malformed YAML: {_clip(str(exc))}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse the YAML file ``path`` (a ``what``, e.g. "design file"); ConfigError naming the file otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: a {what} may be at most {MAX_BYTES:,} bytes; this one is larger")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: a {what} must be UTF-8 YAML text; byte {exc.start} is 0x{data[exc.start]:02x} "
                          "(a binary file?)") from None
    return parse_yaml(text, source=str(path))
