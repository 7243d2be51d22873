"""docs/lint.md: every code edgec can emit is documented, and every example in it does what it
says: the bad file produces exactly its code, at the position and with the message the page
shows (one test per diagnostic code: code, line, column), and the fixed file produces nothing."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import pytest

from edgec.catalogue import CODES
from edgec.cli import main
from edgec.lint import all_rules

from ..conftest import ROOT

DOC = ROOT / "docs" / "lint.md"
HEADER = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): "
                    r"(?P<severity>error|warning)\[(?P<code>[EW]\d{3})\] ", re.M)
# an unreadable file is tested below, an invisible character in test_syntax_errors.py; E413 is what
# botocore's model rejects after every value the file controls was checked
NO_EXAMPLE = {"E000", "E022", "E413", "W414"}  # W414: a build that succeeds, shown as text
# the import's examples are nginx files: tests/importers/test_import_docs.py runs them
IMPORT = {"E501", "E502", "W503"}
ROUTING = {"W304", "W305", "W306"}  # edgec/lint/routing_rules.py


@dataclass
class Entry:
    code: str
    name: str
    severity: str
    bad: str | None
    bad_args: list[str]
    printed: str | None
    fix: str | None
    fix_args: list[str]


def entries() -> list[Entry]:
    text = DOC.read_text()
    out = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        head = re.match(r"([EW]\d{3}) ([a-z0-9-]+)\n\n(error|warning) · ", section)
        if not head:
            continue
        blocks = re.findall(r"^```([^\n]*)\n(.*?)^```$", section, flags=re.M | re.S)
        bad = fix = printed = None
        bad_args: list[str] = []
        fix_args: list[str] = []
        for info, body in blocks:
            words = shlex.split(info)
            if words[:2] == ["edge", "fix"]:
                fix, fix_args = body, words[2:]
            elif words[:1] == ["edge"]:
                bad, bad_args = body, words[1:]
            elif words[:1] == ["console"]:
                printed = body.strip()
        out.append(Entry(head.group(1), head.group(2), head.group(3), bad, bad_args, printed, fix, fix_args))
    return out


ENTRIES = entries()


def run(entry_args: list[str], source: str, tmp_path, monkeypatch, capsys) -> tuple[int, list[dict], str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.edge").write_text(source)
    command, *rest = entry_args or ["lint"]
    if command == "build":
        target, *rest = rest
        argv = ["build", "shop.edge", "--target", target, "-o", "out", *rest]
    else:
        argv = [command, "shop.edge", *rest]
    status = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    found = [m.groupdict() | {"text": text[m.start():text.find("\n", m.start())]} for m in HEADER.finditer(text)]
    return status, found, text


def test_every_code_of_the_catalogue_is_documented_under_its_name():
    assert [(e.code, e.name, e.severity) for e in ENTRIES] == [(c.code, c.name, c.level) for c in CODES]


def test_every_entry_has_its_parts_and_one_name_per_code():
    names = [e.name for e in ENTRIES]
    codes = [e.code for e in ENTRIES]
    assert len(set(codes)) == len(codes)
    for e in ENTRIES:
        assert e.severity == ("error" if e.code[0] == "E" else "warning"), e.code
        if e.code not in NO_EXAMPLE | IMPORT:
            assert e.bad and e.printed and e.fix, f"{e.code} needs a bad example, its output and the fix"
    assert len(set(names)) == len(names)


def test_an_unreadable_file_is_e000(tmp_path, monkeypatch, capsys):
    [entry] = [e for e in ENTRIES if e.code == "E000"]
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "missing.edge"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == entry.printed
    (tmp_path / "binary.edge").write_bytes(b"\xff\xfe\x00")
    assert main(["lint", "binary.edge"]) == 1
    assert "error[E000]" in capsys.readouterr().out


def _skip_unless_emitted(code: str) -> None:
    if code in ROUTING and code not in {r.code for r in all_rules()}:
        pytest.skip("the routing rules are not registered yet")


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.bad], ids=lambda e: e.code)
def test_the_example_produces_exactly_its_code_where_the_page_says(entry, tmp_path, monkeypatch, capsys):
    _skip_unless_emitted(entry.code)
    status, found, text = run(entry.bad_args, entry.bad, tmp_path, monkeypatch, capsys)
    assert [d["code"] for d in found] == [entry.code], text
    assert found[0]["text"] == entry.printed, text
    assert status == 1
    if entry.bad_args[:1] in ([], ["lint"]):  # the rule name is the one the page gives
        from edgec.pipeline import analyse
        rules = {d.rule for d in analyse(entry.bad, "shop.edge", all_envs=True).diagnostics if d.code == entry.code}
        assert rules <= {entry.name}, rules
    assert not (tmp_path / "out").exists(), "a failed build writes nothing"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.fix], ids=lambda e: e.code)
def test_the_fix_produces_nothing(entry, tmp_path, monkeypatch, capsys):
    _skip_unless_emitted(entry.code)
    status, found, text = run(entry.fix_args, entry.fix, tmp_path, monkeypatch, capsys)
    assert found == [] and status == 0, text


def test_the_introduction_shows_real_output_and_a_working_suppression(tmp_path, monkeypatch, capsys):
    intro = DOC.read_text().split("\n## Codes")[0]
    [shown] = re.findall(r"```console\n\$ edgec lint shop.edge\n(.*?)```", intro, re.S)
    [e104] = [e for e in ENTRIES if e.code == "E104"]
    _, _, text = run([], e104.bad, tmp_path, monkeypatch, capsys)
    assert text == shown
    [suppressed] = re.findall(r"```edge\n(.*?)```", intro, re.S)
    status, found, text = run([], suppressed, tmp_path, monkeypatch, capsys)
    assert found == [] and status == 0, text
