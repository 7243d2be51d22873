"""-O gateway=apigw: deploy.sh and destroy.sh run for real (awscli) against the emulator with an
HTTP API in front of the load balancer. The API read back (routes, integrations, authorizers,
stage throttling, header mappings) matches the IR, a second run keeps every id, a changed
edge converges in place, and destroy.sh leaves nothing, twice."""
from __future__ import annotations

import http
import json

import pytest

from edgec import routing
from edgec.diagnostics import Sink
from edgec.pipeline import analyse
from edgec.targets import BuildContext, get

from ..conftest import ROOT
from .test_deploy import write

EDGE = ROOT / "tests" / "aws" / "gateway.edge"
LOG_GROUP = {"EDGE_AWS_LOG_GROUP": "arn:aws:logs:us-east-1:123456789012:log-group:edge"}
# the same edge changed: the header mapping of orders, the required scope and the rate limit gone,
# a route added
CHANGES = [('    request_header add "X-Via" "edge"\n', ""),
           ('    require scope "users:write"\n', ""),
           ("    rate_limit 100/min by client_ip burst 20\n", ""),
           ('    response_header set "X-Frame-Options" "DENY"\n', ""),
           ('  route status {\n', '  route health {\n    match path exact "/healthz"\n    respond 200 "up"\n  }\n'
                                  '  route status {\n')]


def compile_(source: str, gateway: str = "apigw"):
    """(target, ctx, diagnostics) after check."""
    result = analyse(source, str(EDGE), env="prod")
    assert result.ok, [d.message for d in result.diagnostics]
    target, sink = get("aws"), Sink(str(EDGE))
    ctx = BuildContext(result.edge, sink, {"gateway": gateway}, target="aws")
    target.check(ctx)
    return target, ctx, sink.items


def files(source: str) -> tuple:
    target, ctx, items = compile_(source)
    assert not [d for d in items if d.severity == "error"], [d.message for d in items]
    return target.plan(ctx), target.emit(ctx)


def changed_source() -> str:
    text = EDGE.read_text()
    for old, new in CHANGES:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def api_state(aws, name: str) -> dict | None:
    gw = aws.client("apigatewayv2")
    [api] = [a for a in gw.get_apis()["Items"] if a["Name"] == name] or [None]
    links = [v["VpcLinkId"] for v in gw.get_vpc_links()["Items"] if v["Name"] == name]
    if api is None:
        return {"api": None, "vpc_links": links}
    api_id = api["ApiId"]
    tags = api.get("Tags", {})
    authorizers = {k.split(":", 2)[2]: gw.get_authorizer(ApiId=api_id, AuthorizerId=v)
                   for k, v in tags.items() if k.startswith("edgec:authorizer:")}
    integrations = {i["IntegrationId"]: i for i in gw.get_integrations(ApiId=api_id)["Items"]}
    routes = sorted(gw.get_routes(ApiId=api_id)["Items"], key=lambda r: r["RouteKey"])
    stages = gw.get_stages(ApiId=api_id)["Items"]
    assert len({i["Description"] for i in integrations.values()}) == len(integrations), "two of one route"
    return {"api": api_id, "tags": tags, "vpc_links": links,
            "authorizers": {n: {"id": a["AuthorizerId"], "jwt": a["JwtConfiguration"],
                                "source": a["IdentitySource"]} for n, a in authorizers.items()},
            "integrations": {i["Description"]: {"id": k, "uri": i["IntegrationUri"], "type": i["IntegrationType"],
                                                "connection": i.get("ConnectionId"), "timeout": i.get("TimeoutInMillis"),
                                                "parameters": i.get("RequestParameters") or {},
                                                "responses": i.get("ResponseParameters") or {}}
                             for k, i in integrations.items()},
            "routes": [{"id": r["RouteId"], "key": r["RouteKey"], "target": r["Target"],
                        "auth": r.get("AuthorizationType"), "authorizer": r.get("AuthorizerId"),
                        "scopes": r.get("AuthorizationScopes", [])} for r in routes],
            "stages": [{"name": s["StageName"], "settings": s.get("RouteSettings", {}),
                        "log": s.get("AccessLogSettings"), "tags": s.get("Tags", {})} for s in stages]}


@pytest.fixture(scope="module")
def lifecycle(aws, tmp_path_factory):
    base = tmp_path_factory.mktemp("apigw")
    plan, first = files(EDGE.read_text())
    changed_plan, changed = files(changed_source())
    first_dir, changed_dir = write(first, base / "first"), write(changed, base / "changed")
    runs = {"plan": plan, "changed_plan": changed_plan}
    runs["deploy"] = aws.run(first_dir / "deploy.sh", LOG_GROUP)
    runs["first"] = api_state(aws, plan.api.name)
    elbv2 = aws.client("elbv2")
    lb = next(lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]
              if lb["LoadBalancerName"] == plan.lb_name)
    runs["listener"] = elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"][0]["ListenerArn"]
    runs["redeploy"] = aws.run(first_dir / "deploy.sh", LOG_GROUP)
    runs["second"] = api_state(aws, plan.api.name)
    runs["change"] = aws.run(changed_dir / "deploy.sh", LOG_GROUP)
    runs["changed"] = api_state(aws, plan.api.name)
    runs["destroy"] = aws.run(changed_dir / "destroy.sh")
    runs["destroyed"] = api_state(aws, plan.api.name)
    runs["destroy_again"] = aws.run(changed_dir / "destroy.sh")
    runs["destroyed_again"] = api_state(aws, plan.api.name)
    return runs


def expected_keys(source: str) -> dict[str, str]:
    """Route key → edgec route, from the IR: every match's method and path, first-match order first."""
    edge = analyse(source, str(EDGE), env="prod").edge
    out: dict[str, str] = {}
    for alt in routing.first_match_order(edge):
        path = alt.match.path
        methods = alt.match.methods or ("ANY",)
        if path.type == "exact":
            paths = [path.value]
        elif routing.strip_slash(path.value) == "" and not alt.match.methods:
            paths = [None]
        else:
            base = routing.strip_slash(path.value)
            paths = [base or "/", base + "/{proxy+}"]
        for p in paths:
            for m in methods:
                out.setdefault("$default" if p is None else f"{m} {p}", alt.route.name)
    return out


def test_the_api_read_back_is_the_ir(lifecycle):
    edge = analyse(EDGE.read_text(), str(EDGE), env="prod").edge
    got = lifecycle["first"]
    assert got["tags"]["edgec:edge"] == "gw" and got["tags"]["edgec:env"] == "prod"
    assert len(got["vpc_links"]) == 1
    main = edge.auth_provider("main")
    assert got["authorizers"] == {"main": {"id": got["authorizers"]["main"]["id"],
                                           "source": ["$request.header.Authorization"],
                                           "jwt": {"Issuer": main.issuer, "Audience": list(main.audiences)}}}
    keys = expected_keys(EDGE.read_text())
    assert [r["key"] for r in got["routes"]] == sorted(keys)
    by_desc = got["integrations"]
    assert sorted(by_desc) == sorted(f"edgec route {r}" for r in set(keys.values()))
    listener = lifecycle["listener"]
    for desc, integ in by_desc.items():
        route = edge.route(desc.removeprefix("edgec route "))
        assert (integ["type"], integ["uri"], integ["connection"]) == ("HTTP_PROXY", listener, got["vpc_links"][0])
        if route.timeouts.request_ms:
            assert integ["timeout"] == route.timeouts.request_ms
        ops = route.request_headers
        assert integ["parameters"] == {**{f"overwrite:header.{n}": v for n, v in ops.set},
                                       **{f"append:header.{n}": v for n, v in ops.add},
                                       **{f"remove:header.{n}": "''" for n in ops.remove}}
        answers = {f"overwrite:header.{n}": v for n, v in route.response_headers.set}
        assert integ["responses"] == ({str(s): answers for s in http.HTTPStatus if 200 <= s <= 599}
                                      if answers else {})
    target_of = {f"integrations/{i['id']}": d.removeprefix("edgec route ") for d, i in by_desc.items()}
    for r in got["routes"]:
        route = edge.route(keys[r["key"]])
        assert target_of[r["target"]] == route.name
        assert (r["auth"], r["authorizer"]) == (("JWT", got["authorizers"]["main"]["id"]) if route.auth
                                                else ("NONE", None))
        assert r["scopes"] == list(route.require.scopes)
    [stage] = got["stages"]
    assert stage["name"] == "$default"
    limited = {k: edge.route(n).rate_limit for k, n in keys.items() if edge.route(n).rate_limit}
    assert stage["settings"] == {k: {"ThrottlingRateLimit": r.count / r.window_s, "ThrottlingBurstLimit": r.burst}
                                 for k, r in limited.items()}
    assert set(json.loads(stage["log"]["Format"])) >= {"time", "method", "uri", "status", "host", "route"}


def test_a_second_run_keeps_every_id(lifecycle):
    assert lifecycle["second"] == lifecycle["first"]
    assert "exists; converging" in lifecycle["redeploy"].stderr


def test_a_changed_edge_converges_in_place(lifecycle):
    before, after = lifecycle["first"], lifecycle["changed"]
    assert after["api"] == before["api"] and after["vpc_links"] == before["vpc_links"]
    assert after["authorizers"] == before["authorizers"]
    keys = expected_keys(changed_source())
    assert [r["key"] for r in after["routes"]] == sorted(keys)
    # a route that no longer requires a scope is made again (an update cannot empty its scopes)
    kept = {r["key"]: r["id"] for r in before["routes"] if not r["scopes"]}
    assert len(kept) < len(before["routes"])
    assert "replacing it: it no longer requires a scope" in lifecycle["change"].stderr
    assert [r["scopes"] for r in after["routes"]] == [[] for _ in after["routes"]]
    assert all(r["id"] == kept[r["key"]] for r in after["routes"] if r["key"] in kept)
    assert after["integrations"]["edgec route orders"]["parameters"] == {}
    assert after["integrations"]["edgec route orders"]["id"] == before["integrations"]["edgec route orders"]["id"]
    assert after["stages"][0]["settings"] == {}
    assert "replacing the $default stage" in lifecycle["change"].stderr
    # other response mappings: a new integration, the routes moved to it, the old one deleted
    home, old_home = after["integrations"]["edgec route home"], before["integrations"]["edgec route home"]
    assert home["responses"] == {} and home["id"] != old_home["id"]
    assert {r["target"] for r in after["routes"] if keys[r["key"]] == "home"} == {f"integrations/{home['id']}"}
    assert "replacing it: its response mappings changed" in lifecycle["change"].stderr


def test_destroy_leaves_nothing_and_can_run_again(lifecycle):
    assert lifecycle["destroyed"] == {"api": None, "vpc_links": []}
    assert lifecycle["destroy_again"].returncode == 0
    assert lifecycle["destroyed_again"] == {"api": None, "vpc_links": []}
