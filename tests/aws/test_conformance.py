"""The conformance corpus against ALB: each buildable corpus edge's plan is applied to the
emulator (the calls deploy.sh makes, see apply.py), its rules are read back, and a model of ALB's
documented matching (alb.py) must agree with edgec.routing.decide on every case whose
features the aws target marks native. Other cases are skipped with the capability
table's reason (corpus.skip_reason), or with the compile error that says what ALB
cannot express."""
from __future__ import annotations

import dataclasses

import pytest

from edgec import routing
from edgec.diagnostics import Sink
from edgec.targets import BuildContext, get

from ..conformance import corpus
from .alb import evaluate
from .apply import apply
from .readback import state

FILES = corpus.files()
ID = {f.path: f.path.rsplit("/", 1)[-1][:-5] for f in FILES}


def _build(casefile):
    """(plan, None) for a corpus edge, or (None, reason) when the aws target cannot build it."""
    edge = corpus.edge_of(casefile)
    target = get("aws")
    sink = Sink(casefile.edge_file)
    ctx = BuildContext(edge, sink, target="aws")
    target.check(ctx)
    if sink.has_errors:
        return None, "; ".join(f"{d.code} {d.message}" for d in sink.items if d.severity == "error")
    return target.plan(ctx), None


@pytest.fixture(scope="module")
def deployed(aws):
    """file path → (plan, state read back), or the reason the aws target cannot build it."""
    out = {}
    for f in FILES:
        plan, reason = _build(f)
        if plan is None:
            out[f.path] = reason
        elif all(corpus.skip_reason("aws", corpus.edge_of(f), c) for c in f.cases):
            out[f.path] = "every case depends on a feature the aws target does not express natively"
        else:
            apply(aws, plan)
            out[f.path] = (plan, state(aws, plan))
    return out


def _expected(decision: routing.Decision) -> dict:
    forward = decision.action == "forward"
    return {"route": decision.route, "status": decision.status or 200,
            "shares": decision.shares() if forward else None,
            "path": decision.upstream_path if forward else None,
            "host": decision.upstream_host if forward else None,
            "location": decision.location,
            "body": decision.body if decision.action == "respond" else None}


def alb_answer(plan, snapshot, router, req: routing.Request, decision: routing.Decision) -> tuple[dict, dict]:
    """(what the read-back ALB answers, what decide answers), in the same shape."""
    upstream_of = {tg["arn"]: p.upstream for p in plan.target_groups for tg in snapshot["target_groups"][p.name]}
    port = router.listener_port(req)
    listener = snapshot["listeners"][port][0]
    planned = next(lst for lst in plan.listeners if lst.port == port)
    transforms = {r.priority: r.create.params.get("Transforms", []) for r in planned.rules}
    got = dataclasses.asdict(evaluate(listener, upstream_of, transforms, req, port))
    if decision.action != "respond":
        got["body"] = None  # a gateway's own 404 has whatever body it likes
    return got, _expected(decision)


def _unnormalised(req: routing.Request) -> bool:
    try:
        return routing.normalize_path(req.path) != req.path
    except routing.BadPath:
        return True


@pytest.mark.parametrize("casefile", FILES, ids=[ID[f.path] for f in FILES])
def test_corpus(casefile, deployed):
    result = deployed[casefile.path]
    if isinstance(result, str):
        pytest.skip(f"aws: {result}")
    plan, snapshot = result
    edge = corpus.edge_of(casefile)
    router = routing.compile(edge)
    checked, failures, skipped = 0, {}, {}
    for case in casefile.cases:
        reason = corpus.skip_reason("aws", edge, case)
        req = case.request()
        if reason is None and _unnormalised(req):
            reason = ("ALB's path normalisation is not documented, so edgec does not claim that ALB "
                      "matches this path as decide does")
        if reason:
            skipped[case.name] = reason
            continue
        decision = routing.decide(edge, req)
        got, want = alb_answer(plan, snapshot, router, req, decision)
        checked += 1
        differ(failures, case.name, got, want)
    conclude(failures, checked, skipped)


def differ(failures: dict, name: str, got: dict, want: dict) -> None:
    if got != want:
        failures[name] = {k: (got[k], want[k]) for k in want if got[k] != want[k]}


def conclude(failures: dict, checked: int, skipped: dict) -> None:
    """Fails on any difference; skips when every case was skipped, with their reasons."""
    assert not failures, failures
    if not checked:
        pytest.skip("; ".join(sorted(set(skipped.values()))))
