"""editors/vscode/syntaxes/edge.tmLanguage.json, run by the engine VS Code highlights with (vscode-textmate and
vscode-oniguruma, from npm: tests/editors/package.json), on every sample and every example of
docs/language.md: each token edgec's own lexer reads as a keyword, a string, a variable, a
number or a comment, and each declared name, is highlighted as one; and nothing outside a
string or a comment of the lexer is highlighted as one."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from edgec.editor.textmate import NUMBERS
from edgec.parse import _comments, parser
from edgec.pipeline import parse_source
from edgec.syntax_errors import keyword_terminals

from ..conftest import ROOT, SAMPLES

HERE = Path(__file__).parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "edge.tmLanguage.json"
SCOPE = {"keyword": "keyword.other.edge", "string": "string.quoted.double.edge", "variable": "variable.other.edge",
         "number": "constant.numeric.edge", "comment": "comment.line.number-sign.edge",
         "name": "entity.name.type.edge"}


@pytest.fixture(scope="module")
def engine() -> Path:
    """tokenize.mjs with its npm packages installed (npm ci, from the lock file)."""
    if not (HERE / "node_modules" / "vscode-textmate").is_dir():
        assert shutil.which("npm"), "npm is needed (tests/run.sh installs it)"
        run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=HERE, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
    return HERE / "tokenize.mjs"


def _examples(tmp_path: Path) -> list[Path]:
    """The samples, and each complete ```edge example of the language reference."""
    text = (ROOT / "docs" / "language.md").read_text()
    out = list(SAMPLES)
    for i, block in enumerate(re.findall(r"```edge\n(.*?)```", text, re.S)):
        path = tmp_path / f"example{i}.edge"
        path.write_text(block)
        out.append(path)
    return out


def _expected(text: str) -> list[tuple[int, int, int, str]]:
    """(line, start, end, class) from edgec's lexer, 0-based columns, end exclusive."""
    p = parser()
    keywords = keyword_terminals(p)
    classes = {"STRING": "string", "VAR": "variable", **{n: "number" for n in NUMBERS}}
    out = []
    for tok in p.parse_interactive(text).iter_parse():
        kind = "keyword" if tok.type in keywords else classes.get(tok.type)
        if kind and tok.line == tok.end_line:
            out.append((tok.line - 1, tok.column - 1, tok.end_column - 1, kind))
    for c in _comments(text):
        out.append((c.span.line - 1, c.span.column - 1, c.span.column - 1 + len(c.text), "comment"))
    doc, _ = parse_source(text, "x.edge")
    for stmt in doc.edge.body:
        if stmt.kind in ("route", "upstream", "auth", "env"):
            s = stmt.args["name"].span
            out.append((s.line - 1, s.column - 1, s.end_column - 1, "name"))
    return out


def test_the_samples_and_examples_are_highlighted_as_edgec_reads_them(engine, tmp_path):
    files = _examples(tmp_path)
    run = subprocess.run(["node", str(engine), str(GRAMMAR), *map(str, files)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    tokenized = json.loads(run.stdout)
    checked = 0
    for path in files:
        text = path.read_text()
        tokens = tokenized[str(path)]
        expected = _expected(text)
        for line, start, end, kind in expected:
            overlapping = [t for t in tokens if t[0] == line and t[1] < end and t[2] > start]
            assert overlapping and all(SCOPE[kind] in t[3] for t in overlapping), \
                (path.name, line + 1, text.split("\n")[line][start:end], kind, overlapping)
            checked += 1
        # a string, a number or a comment is highlighted only where edgec reads one
        for line, start, end, scopes in tokens:
            for kind in ("string", "number", "comment"):
                if SCOPE[kind] in scopes and start < end:
                    assert any(e[0] == line and e[1] <= start and end <= e[2] and e[3] == kind for e in expected), \
                        (path.name, line + 1, text.split("\n")[line][start:end], kind)
    assert checked > 500
