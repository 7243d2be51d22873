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
