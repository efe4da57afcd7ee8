"""The package's imports point down its layers (`LAYERS`, below) and form no cycle.

Every module of `a2sb` is parsed with `ast`; every import counts — at module level, inside
functions, under `if TYPE_CHECKING`, and the module names that lazy imports
(`importlib.import_module`) take as strings. An import of `a2sb.x.y` also runs the
`__init__` of `a2sb.x`, so it depends on that package too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "a2sb"

LAYERS = [
    ["errors", "names", "allocator"],
    ["io"],
    ["", "notices", "cutoff_detection"],
    ["representations"],
    ["degradations"],
    ["models", "schedulers"],
    ["official"],
    ["pipelines"],
    ["evaluation"],
    ["spectrogram_pictures"],
    ["training"],
    ["cli"],
    ["__main__"],
]
"""Components of `a2sb` (its first-level modules and packages; "" is `a2sb/__init__.py`), from
the bottom up. A module may import its own component and the components of lower layers only:
so models and schedulers never import each other, pipelines never import training, and
nothing imports the command line."""

KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()
"""(importer, imported) edges that break the layers and are left to another issue."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def component(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def rank(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if component(module) in layer:
            return index
    raise AssertionError(f"{module}: component {component(module)!r} is in no layer of LAYERS")


def imported_names(module: str, tree: ast.Module) -> set[str]:
    """Every dotted name the module imports, resolving relative imports."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and node.value in MODULES:
            names.add(node.value)
    return names


def dependencies(module: str) -> set[str]:
    """The a2sb modules that importing `module` runs (its own enclosing packages excluded)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    enclosing = {module.rsplit(".", depth)[0] for depth in range(module.count(".") + 1)}
    found = set()
    for name in imported_names(module, tree):
        if not (name == "a2sb" or name.startswith("a2sb.")):
            continue
        while name not in MODULES:
            name = name.rpartition(".")[0]
        parts = name.split(".")
        found.update(".".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return {name for name in found if name in MODULES} - enclosing


GRAPH = {module: dependencies(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [m0, m1, …, m0], or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walk_sees_imports_inside_functions_and_the_graph_is_not_empty():
    assert "a2sb.pipelines.converted_checkpoints" in GRAPH["a2sb.cli.convert"]  # inside `run`
    assert "a2sb.training.data" in GRAPH["a2sb.training"]  # a lazy, string-named import
    assert sum(map(len, GRAPH.values())) > 100


def test_there_is_no_import_cycle():
    assert find_cycle(GRAPH) is None, " → ".join(find_cycle(GRAPH))


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    upward = sorted(
        target
        for target in GRAPH[module]
        if component(target) != component(module)
        and rank(target) >= rank(module)
        and (module, target) not in KNOWN_EXCEPTIONS
    )
    assert not upward, f"{module} imports {upward}, which are not below it in LAYERS"
