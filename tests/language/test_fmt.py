"""edgec fmt: one canonical layout, comments kept where a reader expects them, idempotent,
and never a change of meaning."""
from __future__ import annotations

import pytest

from edgec.fmt import format_document, format_source, is_canonical, not_formatted
from edgec.parse import parse

from ..conftest import SAMPLES
from .conftest import edgec, ir_json

MESSY = '''# head comment

# second head
edge   "x"   {   # after edge brace
  env dev { a = "127.0.0.1:9001"   b = "/x" hosts = [ "a.example" ,"b.example", ] }   # trailing env
  limits {}
  vars {
    # only a comment
  }


  upstream u { server ${a} weight 2 # w
    server "127.0.0.1:2"
    # before close
  }
  route r { match path prefix ${b}
     # between
     forward u }   # after route
  route s {

    match path prefix "/s" method GET
      POST    # multi-line
    match header "X" = "#not a comment"
    respond 200 "hi"

  } route t { match host ${hosts} forward h }
  upstream h { server "127.0.0.1:3"   health get "/" expect 200 - 399 }
  # before edge close
}


# tail
'''

CANONICAL = '''# head comment

# second head
edge "x" {  # after edge brace
  env dev {
    a = "127.0.0.1:9001"
    b = "/x"
    hosts = ["a.example", "b.example"]
  }  # trailing env
  limits {}
  vars {
    # only a comment
  }

  upstream u {
    server ${a} weight 2  # w
    server "127.0.0.1:2"
    # before close
  }
  route r {
    match path prefix ${b}
    # between
    forward u
  }  # after route
  route s {
    match path prefix "/s" method GET POST  # multi-line
    match header "X" = "#not a comment"
    respond 200 "hi"
  }
  route t {
    match host ${hosts}
    forward h
  }
  upstream h {
    server "127.0.0.1:3"
    health get "/" expect 200-399
  }
  # before edge close
}

# tail
'''


def test_messy_source_gets_the_canonical_layout_with_every_comment_in_place():
    assert format_source(MESSY) == CANONICAL


def test_canonical_layout_is_a_fixed_point():
    assert format_source(CANONICAL) == CANONICAL


def test_formatting_keeps_the_meaning():
    before, after = ir_json(MESSY, "dev"), ir_json(CANONICAL, "dev")
    assert before is not None and before == after


@pytest.mark.parametrize("source,expected", [
    # a second trailing comment for one joined line goes above it; no comment is lost
    ('edge "x" { route r { match path prefix "/" # one\n method GET # two\n respond 200 } }\n',
     'edge "x" {\n  route r {\n    # two\n    match path prefix "/" method GET  # one\n    respond 200\n  }\n}\n'),
    # a comment between a block's header and its brace moves above the header
    ('edge "x" { route r\n # why\n { respond 200 } }\n',
     'edge "x" {\n  # why\n  route r {\n    respond 200\n  }\n}\n'),
    # a comment in a multi-line list moves above the statement
    ('edge "x" { vars { l = [\n "a", # one\n "b" ] } }\n',
     'edge "x" {\n  vars {\n    l = ["a", "b"]  # one\n  }\n}\n'),
    # CRLF line ends and tabs
    ('edge "x" {\r\n\troute r {\r\n\t\trespond 200\r\n\t}\r\n}\r\n',
     'edge "x" {\n  route r {\n    respond 200\n  }\n}\n'),
    # a ${var} holding '#' is not a comment
    ('edge "x" { vars { a = ${a#b} } }', 'edge "x" {\n  vars {\n    a = ${a#b}\n  }\n}\n'),
])
def test_layout_cases(source, expected):
    assert format_source(source) == expected
    assert format_source(expected) == expected


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_are_formatted(path):
    assert format_source(path.read_text()) == path.read_text()


def test_not_formatted_names_the_first_line_that_differs():
    source = CANONICAL.replace('    server "127.0.0.1:2"', '    server   "127.0.0.1:2"')
    (warning,) = not_formatted(parse(source, "x.edge"))
    assert warning.code == "W307"
    assert warning.span.line == source.splitlines().index('    server   "127.0.0.1:2"') + 1
    assert not not_formatted(parse(CANONICAL, "x.edge"))


def test_a_status_range_written_apart_is_not_formatted():
    # every token one space from the next, yet the formatter writes the range `200-399`
    source = ('edge "x" {\n  upstream h {\n    server "127.0.0.1:3"\n    health get "/" expect 200 - 399\n'
              '  }\n  route r {\n    match path prefix "/"\n    forward h\n  }\n}\n')
    doc = parse(source, "x.edge")
    assert not is_canonical(doc)
    (warning,) = not_formatted(doc)
    assert warning.span.line == 4
    assert not not_formatted(parse(source.replace("200 - 399", "200-399"), "x.edge"))


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\x1c", "\x85"])
def test_not_formatted_counts_lines_as_the_parser_does(separator):
    # str.splitlines() would split these comments in two and name a later line
    source = f'edge "x" {{\n  # a{separator}b\n  access_log off\n\n\n  metrics "/m"\n}}\n'
    (warning,) = not_formatted(parse(source, "x.edge"))
    assert warning.span.line == 5


def test_lint_warns_about_an_unformatted_file(tmp_path):
    path = tmp_path / "x.edge"
    path.write_text('edge "x" {\n  route r {  respond 200 }\n}\n')
    out = edgec("lint", path)
    assert out.returncode == 1
    assert f"{path}:2:1: warning[W307]" in out.stdout + out.stderr


def test_check_names_the_file_that_would_change_and_changes_nothing(tmp_path):
    messy, clean = tmp_path / "messy.edge", tmp_path / "clean.edge"
    messy.write_text(MESSY)
    clean.write_text(CANONICAL)
    out = edgec("fmt", "--check", messy, clean)
    assert out.returncode == 1
    assert f"would reformat {messy}" in out.stderr
    assert str(clean) not in out.stderr
    assert messy.read_text() == MESSY
    assert edgec("fmt", "--check", clean).returncode == 0


def test_diff_prints_the_change_and_writes_nothing(tmp_path):
    messy = tmp_path / "messy.edge"
    messy.write_text(MESSY)
    out = edgec("fmt", "--diff", messy)
    assert out.returncode == 0
    assert "+  route t {" in out.stdout and '-  } route t { match host ${hosts} forward h }' in out.stdout
    assert messy.read_text() == MESSY


def test_fmt_rewrites_files_in_place(tmp_path):
    messy = tmp_path / "messy.edge"
    messy.write_text(MESSY)
    out = edgec("fmt", messy)
    assert out.returncode == 0, out.stderr
    assert messy.read_text() == CANONICAL
    assert f"reformatted {messy}" in out.stderr


def test_stdin_to_stdout():
    out = edgec("fmt", "-", stdin=MESSY)
    assert (out.returncode, out.stdout) == (0, CANONICAL)
    out = edgec("fmt", "--check", "-", stdin=MESSY)
    assert out.returncode == 1 and "would reformat <stdin>" in out.stderr and out.stdout == ""


def test_a_syntax_error_is_reported_and_the_file_left_alone(tmp_path):
    bad = tmp_path / "bad.edge"
    bad.write_text('edge "x" {\n  route r { respond 200 \n')
    out = edgec("fmt", bad)
    assert out.returncode == 1
    assert f"{bad}:" in out.stderr and "error[" in out.stderr
    assert "Traceback" not in out.stderr
    assert bad.read_text() == 'edge "x" {\n  route r { respond 200 \n'


@pytest.mark.parametrize("glued, lines", [
    ('listen https 8443 { tls cert "/c" key "/k" min_version 1.3http2 }',
     ['  listen https 8443 {', '    tls cert "/c" key "/k" min_version 1.3', '    http2', '  }']),
    ('upstream u { server "127.0.0.1:1" keepalive 8idle 5s }\n  route r { timeout 5sretries 2 forward u }',
     ['  upstream u {', '    server "127.0.0.1:1"', '    keepalive 8idle 5s', '  }', '  route r {', '    timeout 5s',
      '    retries 2', '    forward u', '  }']),
])
def test_a_token_the_lexer_cuts_between_two_statements_is_cut_there_too(glued, lines):
    """`1.3http2` is two tokens to the parser and two statements: formatted as one line with a
    blank one after it, and the blank line then vanished (not idempotent)."""
    source = 'edge "x" {\n  ' + glued + "\n}\n"
    formatted = format_source(source)
    assert formatted == 'edge "x" {\n' + "\n".join(lines) + "\n}\n"
    assert format_source(formatted) == formatted
    assert ir_json(formatted) == ir_json(source)


def _without_comments(source: str) -> str:
    """The source formatted, its comment lines dropped and trailing comments cut."""
    doc = parse(format_source(source))
    lines = doc.source.split("\n")
    for c in sorted(doc.comments, key=lambda c: (c.span.line, c.span.column), reverse=True):
        lines[c.span.line - 1] = lines[c.span.line - 1][:c.span.column - 1].rstrip()
    return format_source("\n".join(lines))


# ways to disturb a canonical file, each applied at every line
MUTATIONS = {
    "trailing space": lambda lines, i: lines[:i] + [lines[i] + " "] + lines[i + 1:],
    "indent lost": lambda lines, i: lines[:i] + [lines[i].lstrip()] + lines[i + 1:],
    "indent by a tab": lambda lines, i: lines[:i] + ["\t" + lines[i].lstrip()] + lines[i + 1:],
    "blank line added": lambda lines, i: lines[:i] + [""] + lines[i:],
    "blank line of spaces": lambda lines, i: lines[:i] + ["  "] + lines[i:],
    "line removed when blank": lambda lines, i: lines[:i] + lines[i + 1:] if not lines[i] else None,
    "joined with the next": lambda lines, i: lines[:i] + [lines[i] + " " + lines[i + 1].strip()] + lines[i + 2:]
    if i + 1 < len(lines) - 1 else None,
    "double space": lambda lines, i: lines[:i] + [lines[i].replace(" ", "  ", 1)] + lines[i + 1:],
    "carriage return": lambda lines, i: lines[:i] + [lines[i] + "\r"] + lines[i + 1:],
    "one space before a comment": lambda lines, i: lines[:i] + [lines[i].replace("  #", " #", 1)] + lines[i + 1:]
    if "  #" in lines[i] else None,
    "comment indented deeper": lambda lines, i: lines[:i] + ["  " + lines[i]] + lines[i + 1:]
    if lines[i].lstrip().startswith("#") else None,
    "comment indented less": lambda lines, i: lines[:i] + [lines[i][2:]] + lines[i + 1:]
    if lines[i].startswith("  #") else None,
}


@pytest.mark.parametrize("comments", [False, True], ids=["without comments", "with comments"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_canonical_check_agrees_with_the_formatter(path, comments):
    """is_canonical spares lint the formatter only where it is certain: on each sample (and
    on it without its comments) it says yes, and on every disturbance of it at every line it
    says yes only when the formatter would leave the text as it is."""
    _agrees_with_the_formatter(format_source(path.read_text()) if comments else _without_comments(path.read_text()))


def test_the_canonical_check_agrees_with_the_formatter_about_comments():
    """Comments at the head and the tail, before a `}`, in an empty block, after a `{`."""
    _agrees_with_the_formatter(CANONICAL)


def _agrees_with_the_formatter(canonical: str) -> None:
    from edgec.diagnostics import CompileError
    assert is_canonical(parse(canonical)), "a canonical file goes without the formatter"
    lines, kept = canonical.split("\n"), 0
    for name, mutate in MUTATIONS.items():
        for i in range(len(lines) - 1):
            changed = mutate(lines, i)
            if changed is None:
                continue
            text = "\n".join(changed)
            try:
                doc = parse(text)
            except CompileError:
                continue
            if is_canonical(doc):
                kept += 1
                assert format_document(doc) == text, (name, i + 1)
    assert kept, "some disturbances leave a canonical file (a blank line between two routes removed)"
