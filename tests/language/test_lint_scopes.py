"""What a lint of every env finds for each env alone (edgec.lint.run(alone=), kept for a later
build of that env) is what the analysis of that env alone finds; and each rule's scope says
truly what it reads, which is how run(alone=) gets each env's findings with few runs."""
from __future__ import annotations

import pathlib

import pytest

from edgec import lint
from edgec.diagnostics import Sink
from edgec.lower import environments, lower_with_usage
from edgec.parse import parse
from edgec.pipeline import analyse
from edgec.targets import names as target_names

from .test_lint_rules import CASES

ROOT = pathlib.Path(__file__).parents[2]
FILES = [*sorted(ROOT.joinpath("samples").glob("*.edge")), ROOT / "tests" / "language" / "data" / "envs_apart.edge"]
SOURCES = [pytest.param(p.read_text(), id=p.stem) for p in FILES] + \
          [pytest.param(bad, id=code) for code, (bad, _, _) in sorted(CASES.items())]


@pytest.mark.parametrize("source", SOURCES)
def test_each_env_alone_is_what_its_own_analysis_finds(source):
    every = analyse(source, "t.edge", all_envs=True, each_env=True)
    assert every.diagnostics == analyse(source, "t.edge", all_envs=True).diagnostics
    assert list(every.alone) == list(every.edges)
    for env, alone in every.alone.items():
        own = analyse(source, "t.edge", env=env)
        assert alone.diagnostics == own.diagnostics, env
        assert alone.edges == own.edges and alone.edge == own.edge and alone.doc is None


def test_the_file_with_envs_apart_finds_in_each_what_it_does_not_find_in_all():
    every = analyse((FILES[-1]).read_text(), "t.edge", all_envs=True, each_env=True)

    def codes(result):
        return sorted(d.code for d in result.diagnostics)
    assert codes(every) == ["E107", "W309", "W320"]
    assert {env: codes(alone) for env, alone in every.alone.items()} == {
        "dev": ["W309", "W320"], "prod": ["W303", "W303", "W320"], "stage": ["E107", "W309"]}
    assert every.alone["prod"].ok and every.alone["prod"].edge is every.edges["prod"]
    assert not every.alone["stage"].ok and every.alone["stage"].edge is None


def _twice(source: str) -> lint.LintContext:
    """A context with each env of the source lowered twice, as two envs: a rule that reads
    envs together (a union, or one env holding back another's finding) finds over the pair
    something other than each one's findings in turn."""
    doc = parse(source, "t.edge")
    envs = environments(doc)
    ctx = lint.LintContext(doc, envs, target_names=tuple(target_names()))
    for copy in ("a", "b"):
        for env in envs or [None]:
            edge, state = lower_with_usage(doc, env, Sink("t.edge"))
            ctx.edges[(copy, env)] = edge
            ctx.used_variables[(copy, env)] = state.used
    return ctx


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_rule_s_scope_says_what_it_reads(code):
    (cls,) = [r for r in lint.all_rules() if r.code == code]
    ctx = _twice(CASES[code][0])
    found = list(cls().check(ctx))
    assert found, "the case flags nothing"
    if cls.scope == "file":  # the same with no IR at all
        bare = lint.LintContext(ctx.doc, ctx.envs, target_names=ctx.target_names)
        assert list(cls().check(bare)) == found
    elif cls.scope == "env":
        assert [f for env in ctx.edges for f in cls().check(ctx.alone(env))] == found
    else:
        assert cls.scope == "envs"
        assert [f for env in ctx.edges for f in cls().check(ctx.alone(env))] != found, \
            "its findings are each env's in turn: declare scope = \"env\", which runs it once per env"
