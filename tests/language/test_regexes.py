"""The regex dialect (docs/language.md "Regular expressions"): what every target's engine reads
alike is accepted, everything else is E205 naming the construct, and no warning of Python's
re reaches the terminal."""
from __future__ import annotations

import subprocess
import sys

import pytest

from edgec.pipeline import analyse
from edgec.regexes import problem


def lint(pattern: str):
    source = ('edge "r" {\n  upstream u {\n    server "127.0.0.1:9001"\n  }\n  route r {\n'
              f'    match path regex "{pattern}"\n    forward u\n  }}\n}}\n')
    return [(d.code, d.line, d.column, d.message) for d in analyse(source, "r.edge").diagnostics
            if d.severity == "error"]


@pytest.mark.parametrize("pattern, construct", [
    ("/[[:alpha:]]+", "POSIX class '[:alpha:]'"),
    ("/a\\\\u0041", "\\u escape"),
    ("/(?=a)b", "lookahead"),
    ("/(?<!a)b", "lookbehind"),
    ("/(a)\\\\1", "backreference"),
    ("/(?P<n>a)", "named group"),
    ("/(?<n>a)", "named group"),
    ("/(?>a)", "atomic group"),
    ("/a*+", "possessive quantifier"),
    ("/a{,3}", "literal '{'"),
    ("/a{1001}", "repeat count over 1000"),
    ("/[a&&b]", "'&&' inside a class"),
    ("/[a--b]", "'--' inside a class"),
    ("/[]a]", "']' first in a class"),
    ("/[a[b]", "'[' inside a class"),
    ("/a}", "literal '}'"),
    ("/a\\\\z", "\\z"),
    ("/a\\\\Z", "\\Z"),
    ("/\\\\p{L}", "Unicode property"),
    ("/\\\\x{41}", "\\x escape"),
    ("/\\\\xff", "\\x escape"),
    ("/\\\\Qa\\\\E", "\\Q...\\E"),
    ("/a\\\\v", "\\v"),
    ("/\\\\0", "octal"),
    ("/x(?i)a", "inline flags '(?i)' after the start"),
    ("(?x)/a", "the group '(?x)/a'"),
    ("/é+", "repeated non-ASCII character"),
    ("/[é]", "non-ASCII character 'é' inside a class"),
])
def test_a_construct_outside_the_dialect_is_e205_naming_it(pattern, construct):
    [(code, line, column, message)] = lint(pattern)
    assert (code, line, column) == ("E205", 6, 22)
    assert construct in message


@pytest.mark.parametrize("pattern", [
    "/r/[0-9]+", "/v[0-9]{1,3}/.*", "/\\\\d+\\\\.json", "(?i)/a", "/(?i:a)b", "/(a|b)?c", "/[\\\\]]", "/\\\\bx\\\\b",
    "/[^/]+/items", "/a{2}b{3,}c{0,1000}?", "/\\\\x41", "/\\\\w\\\\W\\\\s\\\\S\\\\D", "/é/x", "\\\\A/a$", "/a.*?b",
])
def test_the_dialect_is_accepted(pattern):
    assert lint(pattern) == []


def test_the_issue_cases_are_refused_before_any_engine_sees_them():
    """`[[:alpha:]]` linted clean while the runtime and nginx routed /abc and /a] oppositely;
    `\\u0041` linted clean and nginx refused it."""
    assert problem("/[[:alpha:]]+") and problem("/a\\u0041")


def test_classes_are_ascii_as_in_every_other_engine():
    """Python's \\d alone matches Arabic-Indic digits: routing compiles with re.ASCII."""
    from urllib.parse import quote

    from edgec.routing import Request, decide
    result = analyse('edge "r" {\n  route r {\n    match path regex "/\\\\d+"\n    respond 200\n  }\n}\n', "r.edge")
    assert result.ok, result.diagnostics
    assert decide(result.edge, Request.from_url("GET", "http://x/123")).route == "r"
    assert decide(result.edge, Request.from_url("GET", "http://x/" + quote("١٢٣"))).route is None


@pytest.mark.parametrize("pattern", ["/[[:alpha:]]+", "/[a--b]", "/[a&&b]", "/[a||b]", "/[a~~b]", "/[[a]"])
def test_no_warning_of_pythons_re_reaches_the_terminal(tmp_path, pattern):
    path = tmp_path / "w.edge"
    path.write_text(f'edge "w" {{\n  route r {{\n    match path regex "{pattern}"\n    respond 200\n  }}\n}}\n')
    run = subprocess.run([sys.executable, "-W", "default", "-m", "edgec", "lint", str(path)], capture_output=True,
                         text=True)
    assert "Warning" not in run.stderr and run.stderr == "", run.stderr
    assert "error[E205]" in run.stdout
