"""The three ways diagnostics are printed (text like a compiler, a stable JSON envelope, SARIF
2.1.0) and the exit codes: 0 clean, 1 problems found, 2 usage error."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from edgec.cli import main
from edgec.diagnostics import Diagnostic, Span, render_text

from ..conftest import ROOT
from .conftest import edgec

HEADER_LINE = re.compile(r"^\S+:\d+:\d+: (?:error|warning)\[", re.M)

SARIF_SUBSET = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-subset.schema.json").read_text())

CLEAN = 'edge "x" {\n  upstream u {\n    server "127.0.0.1:9001"\n  }\n  route r {\n    forward u\n  }\n}\n'
WARNS = CLEAN.replace("  route r {", '  upstream spare {\n    server "127.0.0.1:9002"\n  }\n  route r {')
BROKEN = CLEAN.replace("forward u", "forward userz").replace("  route r {", "  route r {\n    timeout 5")

# the JSON envelope is an interface: this is its shape, and a change to it is a breaking change
ENVELOPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["format_version", "valid", "error_count", "warning_count", "diagnostics"],
    "properties": {
        "format_version": {"const": 1},
        "valid": {"type": "boolean"},
        "error_count": {"type": "integer", "minimum": 0},
        "warning_count": {"type": "integer", "minimum": 0},
        "diagnostics": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "rule", "severity", "message", "file", "range", "hint"],
            "properties": {
                "code": {"type": "string", "pattern": "^[EW][0-9]{3}$"},
                "rule": {"type": ["string", "null"]},
                "severity": {"enum": ["error", "warning", "info"]},
                "message": {"type": "string"},
                "file": {"type": "string"},
                "hint": {"type": ["string", "null"]},
                "range": {"type": "object", "required": ["start", "end"], "properties": {
                    "start": {"$ref": "#/$defs/position"}, "end": {"$ref": "#/$defs/position"}}},
            }}},
    },
    "$defs": {"position": {"type": "object", "required": ["line", "column"], "additionalProperties": False,
                           "properties": {"line": {"type": "integer", "minimum": 1},
                                          "column": {"type": "integer", "minimum": 1}}}},
}


@pytest.fixture
def files(tmp_path):
    def write(**sources):
        paths = {}
        for name, text in sources.items():
            path = tmp_path / f"{name}.edge"
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
            paths[name] = str(path)
        return paths
    return write


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---- text ---------------------------------------------------------------------------------

def test_text_is_location_severity_code_message_then_the_line_a_caret_and_the_hint(capsys, files):
    paths = files(broken=BROKEN)
    code, out, _ = run(capsys, "lint", paths["broken"], "--no-fmt-check")
    assert code == 1
    lines = out.splitlines()
    head = f"{paths['broken']}:6:13: error[E009] a duration needs a unit: '5' has none"
    assert lines[0] == head
    assert lines[1] == "   6 |     timeout 5"
    assert lines[2] == "                   ^"
    assert lines[3] == "  = hint: write 5s, 5ms, 5m or 5h"
    assert lines[-1] == "1 error(s), 0 warning(s)"


def test_text_caret_spans_the_whole_name(capsys, files):
    paths = files(bad=CLEAN.replace("forward u", "forward userz"))
    _, out, _ = run(capsys, "lint", paths["bad"], "--no-fmt-check")
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if "error[E104]" in line)
    assert lines[i].endswith("upstream 'userz' is not defined")
    assert lines[i + 1] == "   6 |     forward userz"
    assert lines[i + 2] == "                   ^^^^^"
    assert lines[i + 3] == "  = hint: declare it with `upstream userz { ... }`"


def test_text_never_prints_control_characters_from_the_source():
    source = 'edge "x" {\n  route r {\n    respond 200 "\x1b[2J\x07"\n    zz\n  }\n}\n'
    d = Diagnostic("E011", "error", "unknown keyword '\x1b[31m'", "t.edge", Span(4, 5, 4, 7), hint="\x00")
    text = render_text([d], {"t.edge": source.replace("    zz", "    zz \x1b[2J")})
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    assert "\\x1b[31m" in text


def test_text_cuts_a_huge_line_around_the_span():
    line = "    match path prefix \"/" + "a" * 5000 + "\" oops"
    source = 'edge "x" {\n  route r {\n' + line + "\n  }\n}\n"
    col = line.index("oops") + 1
    text = render_text([Diagnostic("E011", "error", "m", "t.edge", Span(3, col, 3, col + 4))], {"t.edge": source})
    excerpt, caret = text.splitlines()[1:3]
    assert len(excerpt) < 200
    assert excerpt[caret.index("^"):].startswith("oops")
    assert caret.count("^") == 4


def test_text_shows_the_first_hundred_diagnostics_of_a_file_then_how_many_more(tmp_path, capsys):
    """50,000 bad escapes once printed 50,000 errors with an excerpt of their 100 KB line each
    (15 MB); the text stops at 100 per file, JSON still lists them all."""
    path = tmp_path / "esc.edge"
    path.write_text('edge "x" {\n  route r {\n    respond 200 "' + "\\q" * 50_000 + '"\n  }\n}\n')
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert len(HEADER_LINE.findall(out)) == 100
    assert out.endswith(f"{path}: 49,900 more not shown\n50000 error(s), 0 warning(s)\n")
    assert len(out) < 100 * 400
    assert main(["lint", "--format", "json", str(path)]) == 1
    assert len(json.loads(capsys.readouterr().out)["diagnostics"]) == 50_000


def test_text_caret_lines_up_under_wide_characters():
    source = 'edge "x" {\n  route r {\n    match path prefix "/日本" zz\n  }\n}\n'
    col = source.splitlines()[2].index("zz") + 1
    text = render_text([Diagnostic("E011", "error", "m", "t.edge", Span(3, col, 3, col + 2))], {"t.edge": source})
    excerpt, caret = text.splitlines()[1:3]
    assert caret.index("^") == excerpt.index("zz") + 2  # two wide characters take two columns each


def test_lines_are_counted_as_the_parser_counts_them():
    """Only \\n ends a line for the parser; \\x0c or \\u2028 inside a line must not shift the excerpt."""
    source = 'edge "x" {\x0c\n  route r {\u2028\n    zz\n  }\n}\n'
    text = render_text([Diagnostic("E011", "error", "m", "t.edge", Span(3, 5, 3, 7))], {"t.edge": source})
    assert text.splitlines()[1] == "   3 |     zz"


# ---- JSON ---------------------------------------------------------------------------------

def test_json_envelope_for_clean_warning_error_syntax_and_unreadable_files(capsys, files):
    paths = files(clean=CLEAN, warns=WARNS, broken=BROKEN, binary=b"\xff\xfe\x00edge")
    for name, valid, errors, warnings in [("clean", True, 0, 0), ("warns", True, 0, 1), ("broken", False, 1, 0),
                                          ("binary", False, 1, 0)]:
        code, out, _ = run(capsys, "lint", paths[name], "--format", "json", "--no-fmt-check")
        data = json.loads(out)
        jsonschema.validate(data, ENVELOPE)
        assert (data["valid"], data["error_count"], data["warning_count"]) == (valid, errors, warnings), name
        assert code == (0 if name == "clean" else 1)
    code, out, _ = run(capsys, "lint", paths["broken"] + ".missing", "--format", "json")
    data = json.loads(out)
    jsonschema.validate(data, ENVELOPE)
    assert data["diagnostics"][0]["code"] == "E000" and code == 1


def test_json_has_every_file_in_one_envelope_sorted_by_position(capsys, files):
    paths = files(a=BROKEN, b=WARNS)
    _, out, _ = run(capsys, "lint", paths["b"], paths["a"], "--format", "json", "--no-fmt-check")
    data = json.loads(out)
    keys = [(d["file"], d["range"]["start"]["line"], d["range"]["start"]["column"]) for d in data["diagnostics"]]
    assert keys == sorted(keys)
    assert {d["file"] for d in data["diagnostics"]} == {paths["a"], paths["b"]}
    assert (data["error_count"], data["warning_count"]) == (1, 1)  # a syntax error stops that file there


def test_json_ranges_cover_the_span(capsys, files):
    paths = files(bad=CLEAN.replace("forward u", "forward userz"))
    _, out, _ = run(capsys, "lint", paths["bad"], "--format", "json", "--no-fmt-check")
    [d] = [d for d in json.loads(out)["diagnostics"] if d["code"] == "E104"]
    assert d["range"] == {"start": {"line": 6, "column": 13}, "end": {"line": 6, "column": 18}}
    assert d["rule"] == "undefined-upstream"


# ---- SARIF --------------------------------------------------------------------------------

def check_sarif(data: dict) -> None:
    jsonschema.validate(data, SARIF_SUBSET)
    for run_ in data["runs"]:
        rules = run_["tool"]["driver"]["rules"]
        assert len({r["id"] for r in rules}) == len(rules)
        for result in run_["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            for loc in result["locations"]:
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                assert not re.search(r"[\s\\]", uri) and urlsplit(uri).path, uri
                region = loc["physicalLocation"]["region"]
                assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


def test_sarif_is_valid_for_every_kind_of_problem(capsys, files, tmp_path):
    spaced = tmp_path / "with space"
    spaced.mkdir()
    (spaced / "w.edge").write_text(WARNS)
    paths = files(clean=CLEAN, broken=BROKEN, binary=b"\xff")
    code, out, _ = run(capsys, "lint", paths["clean"], paths["broken"], paths["binary"], str(spaced / "w.edge"),
                       "--format", "sarif", "--no-fmt-check")
    data = json.loads(out)
    check_sarif(data)
    results = data["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"E009", "E000", "W301"}
    assert {r["level"] for r in results} == {"error", "warning"}
    assert any("with%20space" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    names = {r["id"]: r.get("name") for r in data["runs"][0]["tool"]["driver"]["rules"]}
    assert names["W301"] == "unused-upstream"
    assert code == 1


def test_sarif_of_a_clean_file_has_no_results(capsys, files):
    paths = files(clean=CLEAN)
    code, out, _ = run(capsys, "lint", paths["clean"], "--format", "sarif", "--no-fmt-check")
    data = json.loads(out)
    check_sarif(data)
    assert data["runs"][0]["results"] == [] and code == 0


# ---- exit codes (as a user runs it) ----------------------------------------------------------

def test_exit_codes(tmp_path):
    clean, warns = tmp_path / "clean.edge", tmp_path / "warns.edge"
    clean.write_text(CLEAN)
    warns.write_text(WARNS)
    assert edgec("lint", clean).returncode == 0
    assert edgec("lint", warns).returncode == 1
    usage = edgec("lint", clean, "--format", "xml")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr and "Traceback" not in usage.stderr
    assert edgec("lint").returncode == 2
    assert edgec("lint", clean, "--target", "nginxx").returncode == 2
    assert edgec("frobnicate").returncode == 2
    assert edgec("lint", ROOT / "samples" / "shop.edge").returncode == 0


def test_build_prints_the_same_envelope_for_syntax_errors_and_unreadable_files(capsys, files, tmp_path):
    paths = files(broken=BROKEN, binary=b"\xff")
    for name, code in (("broken", "E009"), ("binary", "E000")):
        status, out, _ = run(capsys, "build", paths[name], "--target", "nginx", "-o", tmp_path / "out",
                             "--format", "json")
        data = json.loads(out)
        jsonschema.validate(data, ENVELOPE)
        assert status == 1 and not data["valid"] and [d["code"] for d in data["diagnostics"]] == [code]
    assert not (tmp_path / "out").exists()


def test_a_target_that_cannot_express_a_feature_is_reported_by_lint_and_strict_makes_approximations_errors(
        capsys, files):
    source = CLEAN.replace('    server "127.0.0.1:9001"\n', '    server "127.0.0.1:9001"\n'
                           '    health get "/healthz" every 5s timeout 2s\n')
    paths = files(health=source)
    status, out, _ = run(capsys, "lint", paths["health"], "--target", "nginx", "--format", "json")
    [d] = json.loads(out)["diagnostics"]
    assert (d["code"], d["severity"], d["range"]["start"]) == ("W402", "warning", {"line": 2, "column": 3})
    assert status == 1
    status, out, _ = run(capsys, "lint", paths["health"], "--target", "nginx", "--strict", "--format", "json")
    [d] = json.loads(out)["diagnostics"]
    assert (d["code"], d["severity"]) == ("E401", "error") and status == 1
    status, out, _ = run(capsys, "lint", paths["health"], "--format", "json")
    assert json.loads(out)["diagnostics"] == [] and status == 0


def test_github_annotations_escape_what_would_end_a_field(capsys, files, tmp_path):
    odd = tmp_path / "a,b:c%d.edge"
    odd.write_text(CLEAN.replace("forward u", "forward userz"))
    code, out, _ = run(capsys, "lint", odd, "--format", "github", "--no-fmt-check")
    [line] = [line for line in out.splitlines() if "E104" in line]
    assert line.startswith("::error file=") and code == 1
    assert all(line.startswith(("::error ", "::warning ")) for line in out.splitlines())
    assert "a%2Cb%3Ac%25d.edge,line=6,col=13,endLine=6,endColumn=18,title=E104 undefined-upstream::" in line
    assert line.endswith("::upstream 'userz' is not defined (hint: declare it with `upstream userz { ... }`)")
