"""No import cycle inside any package: at every level, the children of a package (modules and subpackages,
each subpackage taken whole) import each other without a loop.  Imports inside functions count.

The graph is grimp's (import-linter's engine).  A cycle is a strongly connected set of two or more children.
"""

import grimp
import pytest

pytestmark = pytest.mark.unit

PACKAGES = ("accel", "workloads", "sim", "rtl", "cost_models")

@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _child_of(package: str, module: str) -> str:
    """The child of ``package`` that holds ``module`` (``module`` itself when it is a child)."""
    return ".".join(module.split(".")[:package.count(".") + 2])


def cycles_among_children(graph, package: str) -> list[frozenset[str]]:
    """The strongly connected sets (of two or more) of ``package``'s children, subpackages taken whole."""
    children = graph.find_children(package)
    edges: dict[str, set[str]] = {c: set() for c in children}
    for module in graph.find_descendants(package):
        src = _child_of(package, module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(package + ".") and (dst := _child_of(package, imported)) != src:
                edges[src].add(dst)
    reach = {}
    for c in children:  # the children each reaches (depth-first); a few dozen nodes per package
        seen, todo = set(), [c]
        while todo:
            for n in edges[todo.pop()] - seen:
                seen.add(n)
                todo.append(n)
        reach[c] = seen
    sccs = {frozenset({c} | {d for d in reach[c] if c in reach[d]}) for c in children if c in reach[c]}
    return sorted(sccs, key=sorted)


def _packages(graph) -> list[str]:
    return sorted(m for m in graph.modules if graph.find_children(m))


def test_every_package_is_checked(graph):
    assert {"rtl", "rtl.pe", "rtl.verify", "accel", "accel.pe", "sim", "workloads", "cost_models"} <= set(
        _packages(graph))


def test_no_import_cycle_inside_any_package(graph):
    found = {p: cycles_among_children(graph, p) for p in _packages(graph)}
    assert {p: [sorted(c) for c in cycles] for p, cycles in found.items() if cycles} == {}


def test_the_check_finds_a_cycle(graph):
    """The check itself: one added import back up (rtl.pe -> rtl.variants) makes a cycle it reports."""
    graph.add_import(importer="rtl.pe.mac", imported="rtl.variants.mac")
    try:
        assert any({"rtl.pe", "rtl.variants"} <= c for c in cycles_among_children(graph, "rtl"))
    finally:
        graph.remove_import(importer="rtl.pe.mac", imported="rtl.variants.mac")
