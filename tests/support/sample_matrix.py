"""The README's sample matrix: every sample built for every target in each of its environments,
as `edgec build` does it (no secret set, nothing installed). `python -m tests.support.sample_matrix`
prints the table; tests/test_readme.py holds the README to it."""
from __future__ import annotations

import re

from edgec.diagnostics import Sink
from edgec.lower import environments
from edgec.parse import parse
from edgec.pipeline import analyse, emit, secret_resolver
from edgec.targets import get, names
from tests.conftest import ROOT, SAMPLES

BEGIN = "<!-- sample matrix: python -m tests.support.sample_matrix -->"
END = "<!-- end of sample matrix -->"


def _reason(d) -> str:
    feature = re.search(r"\[([a-z_.0-9]+)\]", d.message)
    return f"`{feature.group(1)}`" if feature else f"{d.code} {d.message.split(':')[0]}"


# a profile a target option selects gets a column of its own: (header, target, options)
PROFILES = (("aws -O gateway=apigw", "aws", {"gateway": "apigw"}),)


def columns() -> list[tuple[str, str, dict]]:
    return sorted([(t, t, {}) for t in names()] + list(PROFILES))


def cell(path, target: str, options: dict | None = None) -> str:
    text = path.read_text()
    refused = {}
    for env in environments(parse(text, str(path))) or [None]:
        result = analyse(text, f"samples/{path.name}", env=env)
        assert result.edge is not None, [d.message for d in result.diagnostics]
        out = emit(result.edge, [get(target)], Sink(f"samples/{path.name}"), options, secret_resolver(None))
        if target in out.refused:
            refused[env] = _reason(out.refused[target])
    if not refused:
        return "builds"
    reasons = dict.fromkeys(refused.values())
    where = "" if len(refused) == len(environments(parse(text, str(path)))) else f" in {', '.join(refused)}"
    return f"refused{where}: " + ", ".join(reasons)


def table() -> str:
    cols = columns()
    lines = [BEGIN, "| sample | " + " | ".join(f"`{header}`" for header, _, _ in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for path in SAMPLES:
        lines.append(f"| [{path.stem}](samples/{path.name}) | "
                     + " | ".join(cell(path, t, options) for _, t, options in cols) + " |")
    return "\n".join(lines + [END])


def in_readme() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index(BEGIN):text.index(END) + len(END)]


if __name__ == "__main__":
    print(table())
