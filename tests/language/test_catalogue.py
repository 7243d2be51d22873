"""The diagnostics catalogue (edgec/catalogue.py) is the one list of codes: every code the
sources can raise is in it and every entry is raised somewhere, a stage cannot report a code
it lacks, docs/lint.md is what the catalogue and docs/src/lint.md make, and the names it
gives are the ones suppressions, JSON and SARIF use."""
from __future__ import annotations

import json
import re

import pytest

from edgec.catalogue import BY_CODE, BY_NAME, CODES
from edgec.cli import main
from edgec.diagnostics import Sink
from edgec.lint import all_rules
from edgec.lintdoc import PROSE, ProseError, render

from ..conftest import ROOT

STAGES = {"reading", "syntax", "names", "values", "lint", "lint (routing)", "format", "suppressions", "target",
          "target (aws)", "import"}


def raised_codes() -> dict[str, set[str]]:
    """code → the source files that spell it: every code literal of edgec/ and targets/."""
    found: dict[str, set[str]] = {}
    for folder in ("edgec", "targets"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "catalogue.py":
                continue
            for code in re.findall(r"""["']([EW]\d{3})["']""", path.read_text()):
                found.setdefault(code, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_code_the_sources_raise_is_in_the_catalogue():
    missing = {code: files for code, files in raised_codes().items() if code not in BY_CODE}
    assert not missing, f"add these codes to edgec/catalogue.py and docs/src/lint.md: {missing}"


def test_every_catalogue_entry_is_raised_somewhere():
    assert set(BY_CODE) <= set(raised_codes()), sorted(set(BY_CODE) - set(raised_codes()))


def test_entries_are_well_formed_and_named_once():
    assert len(BY_CODE) == len(CODES) and len(BY_NAME) == len(CODES)
    for c in CODES:
        assert re.fullmatch(r"[EW]\d{3}", c.code), c
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", c.name), c
        assert c.stage in STAGES, c
        assert not c.summary[0].isupper() and not c.summary.endswith(".") and "\n" not in c.summary, c
        assert c.anchor == f"{c.code.lower()}-{c.name}", c
    assert [c.code for c in CODES] == sorted(BY_CODE, key=lambda code: code[1:])  # the order of docs/lint.md


def test_lint_rules_take_name_level_and_summary_from_the_catalogue():
    for r in all_rules():
        entry = BY_CODE[r.code]
        assert (r.name, r.severity, r.summary) == (entry.name, entry.level, entry.summary)


def test_a_stage_cannot_report_a_code_the_catalogue_lacks_or_at_another_level():
    sink = Sink("t.edge")
    with pytest.raises(KeyError, match="E999"):
        sink.error("E999", "no such code")
    with pytest.raises(ValueError, match="W301"):
        sink.error("W301", "a warning reported as an error")
    with pytest.raises(ValueError, match="E104"):
        sink.warning("E104", "an error reported as a warning")
    sink.error("E104", "upstream 'x' is not defined")
    [d] = sink.items
    assert (d.code, d.severity, d.rule) == ("E104", "error", "undefined-upstream")


def test_docs_lint_md_is_generated_from_the_catalogue_and_the_prose():
    expected = render((ROOT / PROSE).read_text())
    assert (ROOT / "docs" / "lint.md").read_text() == expected, \
        ("docs/lint.md is generated: write the change in docs/src/lint.md or edgec/catalogue.py, then "
         "regenerate it from the repository's root: python -m edgec.lintdoc > docs/lint.md")


def test_the_prose_must_cover_exactly_the_catalogue():
    prose = (ROOT / PROSE).read_text()
    with pytest.raises(ProseError, match="W316"):
        render(prose.replace("\n## W316\n", "\n## W399\n"))
    with pytest.raises(ProseError, match="written twice"):
        render(prose + "\n## E104\n\nagain\n")


def test_sarif_rule_metadata_comes_from_the_catalogue(tmp_path, capsys):
    path = tmp_path / "w.edge"
    path.write_text('edge "t" {\n  upstream spare {\n    server "127.0.0.1:1"\n  }\n  route r {\n'
                    '    respond 200\n  }\n}\n')
    assert main(["lint", str(path), "--format", "sarif", "--no-fmt-check"]) == 1
    [rule] = json.loads(capsys.readouterr().out)["runs"][0]["tool"]["driver"]["rules"]
    entry = BY_CODE["W301"]
    assert rule == {"id": "W301", "name": entry.name, "shortDescription": {"text": entry.summary},
                    "help": {"text": f"see docs/lint.md#{entry.anchor}"},
                    "defaultConfiguration": {"level": "warning"}}
