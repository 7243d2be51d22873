"""Bounds of the language (docs/language.md "Bounds"): variables that refer to themselves or
nest too deep, literals too large to be meant, strings that grow without end, control
characters. Each is one diagnostic with a position and a hint, never a traceback."""
from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from edgec.pipeline import analyse


def errors(source: str) -> list[tuple[str, int, int, str]]:
    result = analyse(source, "b.edge", all_envs=True)
    return [(d.code, d.line, d.column, d.message) for d in result.diagnostics if d.severity == "error"]


def one_error(source: str) -> tuple[str, int, int, str]:
    found = errors(source)
    assert len(found) == 1, found
    d = next(d for d in analyse(source, "b.edge", all_envs=True).diagnostics if d.severity == "error")
    assert d.hint, d
    return found[0]


def edge(vars_block: str, use: str = '"/${a}"') -> str:
    return (f'edge "b" {{\n  vars {{\n{vars_block}\n  }}\n  upstream u {{\n    server "127.0.0.1:9001"\n  }}\n'
            f'  route r {{\n    match path prefix {use}\n    forward u\n  }}\n}}\n')


# ---- variables ----------------------------------------------------------------------------------
@pytest.mark.parametrize("vars_block, use, where, cycle", [
    ('    a = "${a}"', '"/${a}"', (3, 10), "a -> a"),
    ('    a = "${b}"\n    b = "${a}"', '"/${a}"', (4, 10), "a -> b -> a"),
    ('    a = "x${b}"\n    b = ${c}\n    c = "/${a}"', '"/${a}"', (5, 11), "a -> b -> c -> a"),
    ('    a = ${a}', '${a}', (3, 9), "a -> a"),
    ('    a = [${b}]\n    b = [${a}, "127.0.0.1:1"]', None, (3, 10), "b -> a -> b"),
])
def test_a_variable_that_refers_to_itself_is_one_error_naming_the_cycle(vars_block, use, where, cycle):
    if use is None:  # lists: the servers of the upstream
        source = (f'edge "b" {{\n  vars {{\n{vars_block}\n  }}\n  upstream u {{\n    servers ${{a}}\n  }}\n'
                  '  route r {\n    forward u\n  }\n}\n')
    else:
        source = edge(vars_block, use)
    code, line, column, message = one_error(source)
    assert (code, (line, column)) == ("E101", where)
    assert cycle in message


def chain(length: int) -> str:
    return "\n".join(f'    v{i} = "${{v{i + 1}}}"' for i in range(length)) + f'\n    v{length} = "x"'


def test_a_chain_of_32_variables_is_put_in_and_a_longer_one_is_an_error():
    ok = edge(chain(31).replace("v0", "a", 1), '"/${a}"')
    assert errors(ok) == []
    code, line, column, message = one_error(edge(chain(1000).replace("v0", "a", 1), '"/${a}"'))
    assert (code, line) == ("E212", 3 + 31) and "33 variables deep" in message


def test_a_variable_used_twice_at_every_level_is_worked_out_once_per_level():
    # 2**40 references if each were put in anew; the string would double at every level
    empty = "\n".join(f'    a{i + 1} = "${{a{i}}}${{a{i}}}"' for i in range(30)) + '\n    a0 = ""'
    assert errors(edge(empty, '"/${a30}"')) == []
    grows = empty.replace('a0 = ""', 'a0 = "x"')
    code, line, column, message = one_error(edge(grows, '"/${a30}"'))
    assert code == "E212" and "131,072 characters" in message and line == 3 + 16


def test_a_number_in_a_string_variable_has_the_same_bound_as_a_literal():
    source = 'edge "b" {\n  vars {\n    p = "' + "9" * 5000 + '"\n  }\n  listen http ${p}\n}\n'
    code, line, column, message = one_error(source)
    assert (code, line, column) == ("E212", 5, 15) and "5000 digits" in message


# ---- literals -----------------------------------------------------------------------------------
HUGE = "9" * 5000


@pytest.mark.parametrize("statement, column, message", [
    (f"listen http {HUGE}", 15, "number too large: 5000 digits"),
    (f"limits {{ max_body {HUGE}mb }}", 21, "number too large: 5000 digits"),
    (f"route r {{ timeout {HUGE}s respond 200 }}", 21, "number too large: 5000 digits"),
    (f"route r {{ rate_limit {HUGE}/s respond 200 }}", 24, "number too large: 5000 digits"),
    (f"upstream u {{ server \"127.0.0.1:1\" weight {HUGE} }}", 44, "number too large: 5000 digits"),
    ('upstream u { server "127.0.0.1:1" }\n  upstream v { server "127.0.0.1:2" }\n'
     f'  route r {{ forward u {"9" * 400}%, v 1% }}', 23, "number too large: 400 digits"),
    ("route r { timeout 3651d respond 200 }", 21, "duration 3651d is above 3650d"),
    ("route r { timeout 99999999999999999d respond 200 }", 21, "duration 99999999999999999d is above 3650d"),
    ("limits { max_body 1025GiB }", 21, "size 1025GiB is above 1024GiB"),
])
def test_a_literal_beyond_its_bound_is_one_error_at_the_literal(statement, column, message):
    source = 'edge "b" {\n  ' + statement + "\n}\n"
    code, line, col, text = one_error(source)
    assert (code, line, col) == ("E212", source.count("\n", 0, source.index(statement.split("\n")[-1])) + 1, column)
    assert message in text


def test_the_bounds_themselves_are_accepted():
    source = ('edge "b" {\n  limits {\n    max_body 1024GiB\n  }\n  upstream u {\n    server "127.0.0.1:1"\n'
              '  }\n  route r {\n    timeout 3650d\n    cache 3650d\n    forward u\n  }\n}\n')
    assert errors(source) == []


# ---- control characters -------------------------------------------------------------------------
@pytest.mark.parametrize("statement, column", [
    ('route r { match path prefix "/a\\u0000" respond 200 }', 31),
    ('route r { match host "a\\u0000.example" respond 200 }', 24),
    ('route r { respond 200 "x" type "text/\\u0007plain" }', 34),
    ('route r { redirect 302 "/a\\u001b[31m" }', 26),
    ('route r { match header "X" ~ "\\u0000" respond 200 }', 32),
    ('route r { response_header set "X" "a\\u0000b" respond 200 }', 37),
    ('auth basic b { realm "\\u0085" htpasswd "/h" }\n  route r { auth b respond 200 }', 24),
    ('vars { p = "/x\\u0000" }\n  upstream u { server "127.0.0.1:1" health get "${p}" }\n'
     '  route r { forward u }', 14),
])
def test_a_control_character_is_refused_in_every_string_field(statement, column):
    source = 'edge "b" {\n  ' + statement + "\n}\n"
    found = errors(source)
    assert found and found[0][0] == "E022", found
    assert (found[0][1], found[0][2]) == (2, column)
    assert "control character U+00" in found[0][3]


def test_a_respond_body_may_hold_line_breaks_and_a_header_value_a_tab():
    source = 'edge "b" {\n  route r {\n    response_header set "X" "a\\tb"\n    respond 200 "a\\nb\\r\\n\\t"\n  }\n}\n'
    result = analyse(source, "b.edge")
    assert result.ok, result.diagnostics
    assert result.edge.routes[0].action.body == "a\nb\r\n\t"
    bad = source.replace('"a\\nb', '"a\\u0000b')
    assert [e[0] for e in errors(bad)] == ["E022"]


# ---- a huge line --------------------------------------------------------------------------------
def test_a_six_megabyte_string_of_variables_costs_megabytes_not_gigabytes(tmp_path):
    """The string terminal's regex once kept backtracking state per character (1.96 GB here)."""
    path = tmp_path / "huge.edge"
    path.write_text('edge "b" {\n  route r {\n    respond 200 "' + "${env}" * 1_000_000 + '"\n  }\n}\n')

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1200 * 2**20, 1200 * 2**20))
    run = subprocess.run([sys.executable, "-m", "edgec", "lint", "--no-fmt-check", str(path)], capture_output=True,
                         text=True, preexec_fn=limit)
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr, run.stderr[-2000:]
    assert run.returncode == 0, run.stdout[-2000:]
