"""YAML text of the targets that write YAML (Envoy, Kubernetes).

Every string is printed double-quoted: YAML readers that follow YAML 1.1 (Envoy's,
Kubernetes tools') turn plain scalars such as `on`, `yes` or `1e3` into booleans and
numbers, so a value from the source is never left to their guess.
"""
from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString


def quoted(node):
    if isinstance(node, dict):
        return {k: quoted(v) for k, v in node.items()}  # keys are the product's field names
    if isinstance(node, list):
        return [quoted(x) for x in node]
    if isinstance(node, str):
        return DoubleQuotedScalarString(node)
    return node


def dump(documents: list, header: str) -> str:
    """The documents (several: separated by `---`) after a comment of the header's lines."""
    yaml = YAML()
    yaml.width = 1 << 20  # never fold a long string over lines
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.explicit_start = len(documents) > 1
    out = io.StringIO()
    out.write("".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()))
    yaml.dump_all([quoted(d) for d in documents], out)
    return out.getvalue()
