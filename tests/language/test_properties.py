"""Properties over generated and mutated sources (hypothesis):

- edgec fmt is idempotent and never changes meaning (the IR of every env is the same
  before and after, and so are the error codes when there are errors);
- no input, however broken, raises out of the pipeline or the formatter, and every
  diagnostic it yields points inside the file (line and column from 1).
"""
from __future__ import annotations

import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgec.diagnostics import CompileError
from edgec.fmt import format_source
from edgec.ir import to_json
from edgec.pipeline import analyse

from ..conftest import SAMPLES

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# compiling every env before and after formatting is dearer; fewer examples keep the suite quick
MEANING = settings(SETTINGS, max_examples=60)
SOURCES = [p.read_text() for p in SAMPLES]
_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\$\{[^}\n]*\}|#[^\n]*|[,\[\]{}=]|[^\s"#,\[\]{}=$]+')
JUNK = ["{", "}", "[", "]", ",", "=", "~", "-", "%", ";", ":", "'", '"', "${", "${x}", "${secret:}", "#",
        "\\", "\n", "\t", "\r", "\x00", "\u00e9", "\u202e", "😀", "0", "-1", "99999999999999999999", "1.5%",
        "5s", "0s", "100/min", "0/s", "10mb", '"\\q"', '"${"', '"unterminated', "route", "match", "edge",
        "forward", "upstream", "env", "path", "prefix", "regex", '"("', "listen", "https", "65536", "GET",
        "auth", "respond", "redirect", "aggregate", "cors", "weight", "backup", "}}}", "{{{",
        # bounds: literals too large, control characters as escapes, variables that refer to themselves
        "9" * 5000, "9" * 5000 + "s", "9" * 5000 + "mb", "9" * 400 + "%", "9" * 19 + "/s", "3651d", "1025GiB",
        '"\\u0000"', '"a\\u001bb"', '"\\u0085"', "vars { a = \"${a}\" }", "vars { a = \"${b}\" b = \"${a}\" }",
        "vars { a = [${a}] }", "vars { a = ${a} }", '"${a}${a}"']


def tokens(source: str) -> list[str]:
    return _TOKEN.findall(source)


def render(toks: list[str], seps: list[str]) -> str:
    out = []
    for tok, sep in zip(toks, seps):
        out += [tok, "\n" if tok.startswith("#") else sep]
    return "".join(out)


def meaning(source: str) -> dict:
    """env → its IR as JSON, or the error codes when it does not compile."""
    result = analyse(source, "p.edge", all_envs=True)
    if result.doc is None:
        return {"syntax": Counter(d.code for d in result.diagnostics)}
    from edgec.lower import environments
    out = {}
    for env in environments(result.doc) or [None]:
        one = analyse(source, "p.edge", env=env)
        out[env] = to_json(one.edge) if one.edge is not None else \
            Counter(d.code for d in one.diagnostics if d.severity == "error")
    return out


def check_positions(source: str, diagnostics) -> None:
    lines = source.split("\n")
    for d in diagnostics:
        assert d.span is not None or d.code == "E000", d
        if d.span is None:
            continue
        assert 1 <= d.span.line <= len(lines), (d, len(lines))
        assert d.span.column >= 1, d
        assert d.span.column <= len(lines[d.span.line - 1]) + 1, (d, lines[d.span.line - 1])


def never_crashes(source: str) -> None:
    result = analyse(source, "m.edge", all_envs=True)
    check_positions(source, result.diagnostics)
    if not result.ok:
        assert result.diagnostics, "an error result without a diagnostic"
    try:
        formatted = format_source(source, "m.edge")
    except CompileError as err:
        assert err.diagnostics
        check_positions(source, err.diagnostics)
        return
    assert format_source(formatted) == formatted
    assert meaning(formatted) == meaning(source)


# ---- layout: the same tokens, any whitespace, comments anywhere a line may end --------------
seps = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n   ", "\r\n", "\n\n\n", " # note\n", "  #\n"])


@MEANING
@given(st.sampled_from(SOURCES), st.data())
def test_fmt_is_idempotent_and_keeps_meaning_whatever_the_layout(source, data):
    toks = tokens(source)
    laid_out = render(toks, data.draw(st.lists(seps, min_size=len(toks), max_size=len(toks))))
    formatted = format_source(laid_out)
    assert format_source(formatted) == formatted
    assert meaning(formatted) == meaning(source)
    assert formatted.count("#") == laid_out.count("#")  # no comment lost or invented


# ---- generated routes --------------------------------------------------------------------------
words = st.sampled_from(["a", "b", "users", "x-1", "_z"])
paths = st.sampled_from(['"/"', '"/a"', '"/a/b"', '"/api/v1"', '"/x/"'])
conditions = st.one_of(
    st.builds(lambda k, p: f"path {k} {p}", st.sampled_from(["exact", "prefix"]), paths),
    st.just('path regex "/r/[0-9]+"'),
    st.builds(lambda h: f"host {h}", st.sampled_from(['"a.example"', '"*.b.example"', '"a.example" "c.example"'])),
    st.builds(lambda m: "method " + " ".join(m), st.lists(st.sampled_from(["GET", "POST", "PUT"]), min_size=1,
                                                           max_size=3, unique=True)),
    st.builds(lambda n, o: f'header "X-{n}" {o}', words, st.sampled_from(['= "v"', '~ "v.*"', "present"])),
    st.builds(lambda n, o: f'query "{n}" {o}', words, st.sampled_from(['= "1"', "present"])),
)
policies = st.sampled_from([
    "rate_limit 10/s", "rate_limit 100/min by header \"X-K\" burst 5", "cache 30s", "cache 1m methods GET vary \"A\"",
    'request_header set "X-A" "1"', 'response_header remove "Server"', "timeout 5s", "timeout 5s per_try 1s",
    "retries 2", "retries 1 on 502 connect_error backoff 10ms", "mirror u2 5%", "cors { origins \"*\" }",
    'rewrite host "h.example"', "auth k",
])
actions = st.sampled_from(["forward u1", "forward u1 90%, u2 10%", "forward u1 3, u2 1", 'respond 200 "ok"',
                           'redirect 301 "https://e.example/"', "aggregate { p = get u1 \"/p\" }"])


@st.composite
def programs(draw):
    routes = []
    for i in range(draw(st.integers(1, 5))):
        body = [f"match {' '.join(draw(st.lists(conditions, min_size=1, max_size=3)))}"
                for _ in range(draw(st.integers(0, 2)))]
        body += draw(st.lists(policies, max_size=3, unique=True)) + [draw(actions)]
        routes.append(f"route r{i} {{\n" + "\n".join(body) + "\n}")
    head = ('edge "g" {\n env dev { a = "127.0.0.1:9001" }\n env prod { a = "10.0.0.1:80" }\n'
            ' upstream u1 { server ${a} }\n upstream u2 { server "10.0.0.2:80" weight 2 }\n'
            ' auth api_key k { keys ${secret:K} }\n')
    return head + "\n".join(routes) + "\n}\n"


@MEANING
@given(programs(), st.data())
def test_generated_programs_format_to_a_fixed_point_with_the_same_meaning(program, data):
    toks = tokens(program)
    laid_out = render(toks, data.draw(st.lists(seps, min_size=len(toks), max_size=len(toks))))
    formatted = format_source(laid_out)
    assert format_source(formatted) == formatted
    assert meaning(formatted) == meaning(program)


# ---- mutations and junk: never a crash, always a position -----------------------------------
@st.composite
def mutated(draw):
    toks = tokens(draw(st.sampled_from(SOURCES)))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "junk", "replace"]))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "junk":
            toks.insert(i, draw(st.sampled_from(JUNK) | st.text(max_size=4)))
        else:
            toks[i] = draw(st.sampled_from(toks))
    return render(toks, [draw(st.sampled_from([" ", "\n"])) for _ in toks])


@SETTINGS
@given(mutated())
def test_mutated_samples_never_crash_and_every_diagnostic_has_a_position(source):
    never_crashes(source)


# ---- hostile values in real places: every bound of docs/language.md, in every field ------------
# a variable that refers to itself (directly, through another, through a list), one 40 deep, one
# that doubles at every level (2**40 characters if each reference were put in anew)
HOSTILE_VARS = ("vars { zz_self = \"${zz_self}\" zz_a = \"${zz_b}\" zz_b = \"x${zz_a}\" zz_l = [${zz_m}] "
                "zz_m = [${zz_l}] " + " ".join(f'zz_d{i} = "${{zz_d{i + 1}}}"' for i in range(40)) + ' zz_d40 = "d" '
                + " ".join(f'zz_w{i + 1} = "${{zz_w{i}}}${{zz_w{i}}}"' for i in range(40)) + ' zz_w0 = "w" }')
HOSTILE_STRINGS = ['"${zz_self}"', '"/${zz_a}"', "${zz_l}", '"${zz_d0}"', '"/${zz_w40}"', '"\\u0000"',
                   '"/a\\u0007b"', '"\\u001b[31m"', '"\\u0085"', '"\\u007f"', '"/${zz_w10}\\u0000"']
HOSTILE_NUMBERS = ["9" * 5000, "9" * 400, "9" * 19, "9" * 5000 + "ms", "3651d", "87601h",
                   "1025GiB", "9" * 19 + "kb", "9" * 400 + "%", "9" * 19 + "/min", "9" * 4301 + "s"]


@st.composite
def hostile(draw):
    """A sample with the hostile variables defined and 1-4 of its strings or numbers replaced."""
    toks = tokens(draw(st.sampled_from(SOURCES)))
    toks.insert(toks.index("{") + 1, HOSTILE_VARS)
    places = [i for i, t in enumerate(toks) if t[:1] == '"' or t[:1].isdigit()]
    for i in draw(st.lists(st.sampled_from(places), min_size=1, max_size=4, unique=True)):
        toks[i] = draw(st.sampled_from(HOSTILE_NUMBERS if toks[i][:1].isdigit() else HOSTILE_STRINGS))
    return render(toks, [draw(st.sampled_from([" ", "\n"])) for _ in toks])


@SETTINGS
@given(hostile())
def test_hostile_values_in_any_field_are_diagnostics_never_crashes(source):
    never_crashes(source)
    if any(n in source for n in HOSTILE_NUMBERS):  # every number is read, whatever the env
        assert not analyse(source, "h.edge", all_envs=True).ok


@SETTINGS
@given(st.text(max_size=200) | st.lists(st.sampled_from(JUNK), max_size=40).map(" ".join))
def test_random_text_never_crashes(source):
    never_crashes(source)


@SETTINGS
@given(st.sampled_from(SOURCES), st.integers(0, 10_000))
def test_every_truncation_of_a_sample_is_reported_not_raised(source, cut):
    never_crashes(source[:cut % (len(source) + 1)])
