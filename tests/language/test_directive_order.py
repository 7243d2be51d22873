"""The order of the directives (and so of the capability tables' features and of a target's
refusals at one place) is edgec.directives.MODULES', whichever module a process imports first."""
from __future__ import annotations

import subprocess
import sys

import pytest

from edgec import directives

ORDER = ("import edgec.features as f, edgec.directives as d; "
         "print(list(f.FEATURES)); print([(block, list(table)) for block, table in d._BY_BLOCK.items()])")


@pytest.mark.parametrize("first", ["edgec.values", "edgec.directives.actions", "edgec.directives.variables",
                                   "edgec.features"])
def test_the_order_does_not_depend_on_what_was_imported_first(first):
    def order(prelude: str) -> str:
        return subprocess.run([sys.executable, "-c", prelude + ORDER], capture_output=True, text=True,
                              check=True).stdout
    assert order(f"import {first}; ") == order("")


def test_every_directive_comes_from_a_module_of_the_list():
    modules = {d.lower.__module__ for table in (directives.of_block(b) for b in ("edge", "listen", "upstream",
                                                                                 "auth", "route"))
               for d in table.values()}
    assert modules <= {f"edgec.directives.{name}" for name in directives.MODULES}


def test_a_directive_finds_only_the_features_it_declares():
    """A target's check asks only the statements that declare a feature its table does not call
    native (edgec.features.feature_uses(among=)): a use of an undeclared one would go unseen."""
    from pathlib import Path

    from edgec.features import declared
    from edgec.pipeline import analyse

    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "samples").glob("*.edge")) + sorted((root / "tests/conformance/corpus").glob("*.edge"))
    checked = set()
    for path in files:
        result = analyse(path.read_text(encoding="utf-8"), str(path), all_envs=True)
        for edge in [e for e in result.edges.values() if e is not None]:
            nodes = [("listen", n) for n in edge.listeners] + [("upstream", n) for n in edge.upstreams] + \
                [("auth", n) for n in edge.auth] + [("route", n) for n in edge.routes]
            for block, node in nodes:
                for d in (directives.opener(block), *directives.of_block(block).values()):
                    for feature, _, _ in d.used(node, None):
                        assert feature in declared(d.kind), (path.name, block, d.kind, feature)
                        checked.add(feature)
            for d in directives.of_block("edge").values():
                if d.opens is None:
                    for feature, _, _ in d.used(edge, None):
                        assert feature in declared(d.kind), (path.name, "edge", d.kind, feature)
                        checked.add(feature)
    assert len(checked) > 40  # the files use most features: the test looks at what matters
