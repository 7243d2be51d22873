"""The conformance corpus against -O gateway=apigw: each corpus edge the profile builds is
applied to its own emulator (the calls deploy.sh makes, apply.py), the HTTP API's routes,
integrations, authorizers and stage throttling and the ALB's rules are read back, and the
pair must decide as edgec.routing.decide does: API Gateway (a model of its documented route
selection, apigateway.py) must pick a route carrying the settings of decide's route, and the
ALB (alb.py) must answer as decide does. Cases are skipped only with the capability table's
reason (for this profile), the compile error, or the build's warning that the load balancer
answers 501 where it cannot redirect or respond as the route says."""
from __future__ import annotations

import http

import pytest

from edgec import routing
from edgec.diagnostics import Sink
from edgec.targets import BuildContext, get

from ..conformance import corpus
from .apigateway import select
from .apply import apply
from .conftest import moto
from .readback import state
from .test_conformance import ID, _unnormalised, alb_answer, conclude, differ

FILES = corpus.files()


def _build(casefile):
    edge = corpus.edge_of(casefile)
    target = get("aws")
    sink = Sink(casefile.edge_file)
    ctx = BuildContext(edge, sink, {"gateway": "apigw"}, target="aws")
    target.check(ctx)
    if sink.has_errors:
        return None, None, "; ".join(f"{d.code} {d.message}" for d in sink.items if d.severity == "error")
    return target, target.plan(ctx), None


def api_readback(aws, api_id: str) -> dict:
    """Route key → (edgec route, authorizer name, throttling, request parameters, timeout), from
    AWS (30000 ms is the timeout API Gateway gives an HTTP_PROXY integration that sets none)."""
    gw = aws.client("apigatewayv2")
    tags = gw.get_api(ApiId=api_id).get("Tags", {})
    authorizer = {v: k.split(":", 2)[2] for k, v in tags.items() if k.startswith("edgec:authorizer:")}
    integrations = {i["IntegrationId"]: i for i in gw.get_integrations(ApiId=api_id)["Items"]}
    [stage] = gw.get_stages(ApiId=api_id)["Items"]
    throttles = stage.get("RouteSettings", {})
    out = {}
    for r in gw.get_routes(ApiId=api_id)["Items"]:
        integ = integrations[r["Target"].removeprefix("integrations/")]
        out[r["RouteKey"]] = (integ["Description"].removeprefix("edgec route "),
                              authorizer.get(r.get("AuthorizerId")) if r.get("AuthorizationType") == "JWT" else None,
                              throttles.get(r["RouteKey"]), integ.get("RequestParameters") or {},
                              integ.get("ResponseParameters") or {},
                              integ.get("TimeoutInMillis") if integ.get("TimeoutInMillis") != 30000 else None)
    return out


def settings_of(route) -> tuple:
    """What the IR says API Gateway does for this route: (authorizer, throttling, request mappings,
    response mappings on every registered status, timeout)."""
    rate = route.rate_limit

    def mappings(ops):
        return {**{f"overwrite:header.{n}": v for n, v in ops.set}, **{f"append:header.{n}": v for n, v in ops.add},
                **{f"remove:header.{n}": "''" for n in ops.remove}}
    answers = mappings(route.response_headers)
    return (route.auth, {"ThrottlingRateLimit": rate.count / rate.window_s, "ThrottlingBurstLimit": max(1, rate.burst)}
            if rate else None, mappings(route.request_headers),
            {str(s.value): answers for s in http.HTTPStatus if 200 <= s.value <= 599} if answers else {},
            route.timeouts.request_ms or None)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """file path → (target, plan, ALB state, API read back), or the reason it cannot be built."""
    out = {}
    runs = moto(tmp_path_factory)
    aws = next(runs)
    try:
        for f in FILES:
            target, plan, reason = _build(f)
            if plan is None:
                out[f.path] = reason
            elif all(corpus.skip_reason(target, corpus.edge_of(f), c) for c in f.cases):
                out[f.path] = "every case depends on a feature the apigw profile does not express natively"
            else:
                arns = apply(aws, plan)
                out[f.path] = (target, plan, state(aws, plan), api_readback(aws, arns["api"]))
                aws.client("apigatewayv2").delete_api(ApiId=arns["api"])
        yield out
    finally:
        runs.close()


@pytest.mark.parametrize("casefile", FILES, ids=[ID[f.path] for f in FILES])
def test_corpus(casefile, deployed):
    result = deployed[casefile.path]
    if isinstance(result, str):
        pytest.skip(f"aws gateway=apigw: {result}")
    target, plan, snapshot, api = result
    edge = corpus.edge_of(casefile)
    router = routing.compile(edge)
    checked, failures, skipped = 0, {}, {}
    for case in casefile.cases:
        reason = corpus.skip_reason(target, edge, case)
        req = case.request()
        if reason is None and _unnormalised(req):
            reason = "ALB's and API Gateway's path normalisation is not documented"
        if reason:
            skipped[case.name] = reason
            continue
        decision = routing.decide(edge, req)
        key = select(sorted(api), req.method, req.path)
        want_route = edge.route(decision.route) if decision.route else None
        if want_route is None:  # the ALB's 404, unless an authorizer answers 401 first
            wrong = key is not None and api[key][1] is not None
        else:
            wrong = key is None or api[key][1:] != settings_of(want_route)
        if wrong:
            failures[case.name] = {"api_gateway": (key, api[key] if key else None),
                                   "decide": (decision.route, settings_of(want_route))}
            continue
        got, want = alb_answer(plan, snapshot, router, req, decision)
        declared = [e.message for e in plan.declined if f"route '{decision.route}' on" in e.message]
        if got["status"] == 501 and want["status"] != 501 and declared:
            skipped[case.name] = f"the build says the load balancer answers 501 here: {declared[0]}"
            continue
        if key is None:
            got = {**got, "route": None, "status": 404}  # API Gateway answers without the ALB
        checked += 1
        differ(failures, case.name, got, want)
    conclude(failures, checked, skipped)
