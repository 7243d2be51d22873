"""The import contract: data flows one way (syntax → lower → IR → check → routing → targets /
runtime, the command line on top), checked over every module of the installed package.

Every import statement counts, also one inside a function (it runs when the function does);
only `if TYPE_CHECKING:` imports, which never run, are left out. A rule is broken by a chain
as well as by a direct import: the chain is printed so that the wrong link can be found.
"""
from __future__ import annotations

import ast
import importlib.util
import pkgutil
import tomllib
from pathlib import Path

import pytest

from .conftest import ROOT

# what reads the text of a .edge file: never loaded by a target or the runtime
SYNTAX = ("edgec.parse", "edgec.lexer", "edgec.syntax", "edgec.syntax_errors", "edgec.lower", "edgec.fmt",
          "edgec.values", "edgec.grammar")
# the command line, and what drives real gateways on top of everything (harness, fuzz)
COMMAND_LINE = ("edgec.commands", "edgec.cli", "edgec.pipeline", "edgec.harness", "edgec.fuzz")

# (who, what it must never load, why)
RULES = [
    ("edgec.targets", SYNTAX, "targets read the IR, never the syntax"),
    ("edgec.runtime", SYNTAX, "the runtime reads the IR, never the syntax"),
    ("edgec.targets", COMMAND_LINE + ("edgec.lint",), "targets are handed the IR; lint runs before them"),
    ("edgec.runtime", COMMAND_LINE + ("edgec.lint", "edgec.targets"),
     "the runtime is handed a loader and a secret resolver by `edgec run`"),
    # edgec.features derives the features a target reports from the directive declarations:
    # they may be loaded, but their lowering gets its values at call time, never by import
    ("edgec.directives", SYNTAX, "a directive declaration is read by targets through edgec.features"),
    ("edgec.routing", SYNTAX + COMMAND_LINE + ("edgec.lint", "edgec.targets", "edgec.runtime"),
     "routing is the semantics of the IR that targets and the runtime share"),
]
# the IR is plain data: its classes are made from code edgec.keptcode keeps in edgec.usercache
IR_MAY_IMPORT = {"edgec.diagnostics", "edgec.keptcode", "edgec.usercache"}


def package_roots() -> dict[str, Path]:
    """The packages pyproject.toml installs (edgec, and the folders it maps inside it),
    found where the import system finds them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = {}
    for name in config["tool"]["setuptools"]["package-dir"]:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, f"{name} is not installed"
        roots[name] = Path(spec.submodule_search_locations[0])
    return roots


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the installed package: dotted name → (file, is a package)."""
    found: dict[str, tuple[Path, bool]] = {}

    def walk(name: str, folder: Path) -> None:
        found[name] = (folder / "__init__.py", True)
        for info in pkgutil.iter_modules([str(folder)]):
            if info.ispkg:
                walk(f"{name}.{info.name}", folder / info.name)
            else:
                found[f"{name}.{info.name}"] = (folder / f"{info.name}.py", False)

    for name, folder in package_roots().items():
        walk(name, folder)
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def imports_of(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that `name` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = _type_checking_only(tree)
    here = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import edgec.x.y` names the module or a parent
                target = target.rpartition(".")[0]
            if target:
                out.add(target)
    # importing a module runs its parent packages first
    parent = name.rpartition(".")[0]
    if parent in known:
        out.add(parent)
    return out - {name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, is_package, known) for name, (path, is_package) in found.items()}


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def chain(graph: dict[str, set[str]], start: str, forbidden) -> list[str] | None:
    """The shortest import chain from `start` to a forbidden module, if there is one."""
    came_from = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if current != start and _within(current, forbidden):
            path = [current]
            while came_from[path[-1]] is not None:
                path.append(came_from[path[-1]])
            return path[::-1]
        for nxt in sorted(graph.get(current, ())):
            if nxt not in came_from:
                came_from[nxt] = current
                queue.append(nxt)
    return None


def broken(graph: dict[str, set[str]]) -> list[str]:
    """Each wrong link once (the last import of a chain), with the first chain that reaches it."""
    problems, links = [], set()
    for who, forbidden, why in RULES:
        for module in sorted(m for m in graph if _within(m, (who,))):
            path = chain(graph, module, forbidden)
            if path and (why, *path[-2:]) not in links:
                links.add((why, *path[-2:]))
                problems.append(f"{' -> '.join(path)}  ({why})")
    extra = graph["edgec.ir"] - IR_MAY_IMPORT - {"edgec"}
    if extra:
        problems.append(f"edgec.ir imports {', '.join(sorted(extra))}  (the IR imports only diagnostics and what makes its classes)")
    return problems


def test_the_walk_sees_every_layer(graph):
    for expected in ("edgec.pipeline", "edgec.runtime.process", "edgec.targets.nginx.emit",
                     "edgec.targets.aws.settings", "edgec.commands.run", "edgec.lower"):
        assert expected in graph
    # a lazy import inside a function is an edge too
    assert "edgec.runtime.process" in graph["edgec.commands.run"]


def test_data_flows_one_way(graph):
    problems = broken(graph)
    assert not problems, "imports against the flow:\n  " + "\n  ".join(problems)


def test_a_target_imports_no_other_target(graph):
    """Adding or changing one target never touches another: what targets share (the YAML text,
    Envoy's regex and outlier semantics for the targets that run on Envoy) is a module of
    edgec.targets itself, beside them."""
    from edgec.targets import names
    targets = {f"edgec.targets.{n.replace('-', '_')}" for n in names()}
    links = set()
    for module in sorted(graph):
        own = {t for t in targets if _within(module, (t,))}
        # a shared module serves every target and knows none
        if own or _within(module, ("edgec.targets",)):
            path = chain(graph, module, tuple(targets - own))
            if path:
                links.add(" -> ".join(path[-2:]))
    problems = sorted(links)
    assert not problems, "a target reaches into another:\n  " + "\n  ".join(problems)


def test_a_wrong_way_import_inside_a_function_is_caught(graph, tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("from typing import TYPE_CHECKING\n"
                       "if TYPE_CHECKING:\n    from ..lower import Lowerer\n"
                       "def load():\n    from ..pipeline import compile_file\n")
    found = imports_of("edgec.runtime.planted", planted, False, set(graph))
    assert found == {"edgec.runtime", "edgec.pipeline"}  # the lazy import counts, the type-only one not
    problems = broken({**graph, "edgec.runtime.planted": found})
    assert "edgec.runtime.planted -> edgec.pipeline  (the runtime is handed a loader and a secret resolver " \
           "by `edgec run`)" in problems
    assert any(p.startswith("edgec.runtime.planted -> edgec.pipeline -> ") and p.endswith("never the syntax)")
               for p in problems)


def test_package_names_are_not_cycles_of_layers(graph):
    """No two layers import each other (the runtime and the commands, lowering and the targets did)."""
    def layer(m: str) -> str:
        parts = m.split(".")
        return ".".join(parts[:2])
    edges = {(layer(a), layer(b)) for a, targets in graph.items() for b in targets if layer(a) != layer(b)}
    both_ways = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not both_ways, both_ways
