"""-O gateway=apigw with a public HTTPS upstream (one server named by DNS, tls): its route's
integration is an HTTP_PROXY to the server's URL over the internet, checking the certificate for
the sni name, with no target group and no load balancer rule. deploy.sh runs twice against the
emulator (same ids), then a build where the upstream sits behind the load balancer again
replaces the integration and deletes the public one; the plan refuses what API Gateway cannot
send to a URL."""
from __future__ import annotations

import pytest

from edgec.targets.aws import apigw

from .readback import state
from .test_deploy import write
from .test_gateway import LOG_GROUP, compile_

PUBLIC = '''  upstream partner {
    server "api.partner.example.com:8443"
    tls ca "/etc/edge/public.pem" sni "edge.partner.example.com"
  }
'''
PRIVATE = '''  upstream partner { server "10.0.6.10:8080" }
'''
SOURCE = '''edge "pub" {
  env prod {
    target aws {
      region "us-east-1"
    }
  }
  listen http 80
  upstream app { server "10.0.5.10:8080" }
%s  route partner {
    match path prefix "/partner"
    request_header set "X-Env" "prod"
    forward partner
  }
  route home {
    match path prefix "/"
    forward app
  }
}
'''
URL = "https://api.partner.example.com:8443"


def build(source: str):
    target, ctx, items = compile_(source)
    return target, ctx, [d for d in items if d.severity == "error"]


def plan_of(source: str):
    target, ctx, errors = build(source)
    assert not errors, [d.message for d in errors]
    return target.plan(ctx), target.emit(ctx)


def refusal(source: str) -> str:
    target, ctx, errors = build(source)
    assert errors, "built"
    return " ".join(d.message for d in errors)


def integrations(aws, name: str) -> dict:
    gw = aws.client("apigatewayv2")
    [api] = [a["ApiId"] for a in gw.get_apis()["Items"] if a["Name"] == name]
    routes = {r["RouteKey"]: r["Target"] for r in gw.get_routes(ApiId=api)["Items"]}
    return {i["Description"]: {"id": i["IntegrationId"], "connection": i.get("ConnectionType"),
                               "uri": i["IntegrationUri"], "tls": i.get("TlsConfig"),
                               "parameters": i.get("RequestParameters"),
                               "routes": sorted(k for k, t in routes.items() if t == f"integrations/{i['IntegrationId']}")}
            for i in gw.get_integrations(ApiId=api)["Items"]}


@pytest.fixture(scope="module")
def runs(aws, tmp_path_factory):
    base = tmp_path_factory.mktemp("public")
    plan, public = plan_of(SOURCE % PUBLIC)
    private_plan, private = plan_of(SOURCE % PRIVATE)
    first, second = write(public, base / "public"), write(private, base / "private")
    out = {"plan": plan}
    aws.run(first / "deploy.sh", LOG_GROUP)
    out["first"], out["alb"] = integrations(aws, plan.api.name), state(aws, plan)
    aws.run(first / "deploy.sh", LOG_GROUP)
    out["again"] = integrations(aws, plan.api.name)
    out["private_deploy"] = aws.run(second / "deploy.sh", LOG_GROUP)
    out["private"], out["private_alb"] = integrations(aws, plan.api.name), state(aws, private_plan)
    aws.run(second / "destroy.sh")
    return out


def test_the_public_routes_integration_is_its_url_with_the_certificate_name(runs):
    got = runs["first"]
    assert got[f"edgec route partner to {URL}"] == {
        "id": got[f"edgec route partner to {URL}"]["id"], "connection": "INTERNET", "uri": URL,
        "tls": {"ServerNameToVerify": "edge.partner.example.com"},
        "parameters": {"overwrite:header.X-Env": "prod", "overwrite:path": "$request.path"},
        "routes": ["ANY /partner", "ANY /partner/{proxy+}"]}
    assert got["edgec route home"]["connection"] == "VPC_LINK"
    assert got["edgec route home"]["routes"] == ["$default"]


def test_the_load_balancer_has_no_target_group_or_rule_for_it(runs):
    alb = runs["alb"]
    assert sorted(alb["target_groups"]) == [runs["plan"].target_groups[0].name]
    assert [tg.upstream for tg in runs["plan"].target_groups] == ["app"]
    assert [r.route for lst in runs["plan"].listeners for r in lst.rules] == ["home"]


def test_a_second_run_keeps_every_id(runs):
    assert runs["again"] == runs["first"]


def test_behind_the_load_balancer_again_the_integration_is_replaced(runs):
    got = runs["private"]
    assert sorted(got) == ["edgec route home", "edgec route partner"]
    assert got["edgec route partner"]["connection"] == "VPC_LINK"
    assert got["edgec route partner"]["routes"] == ["ANY /partner", "ANY /partner/{proxy+}"]
    assert got["edgec route home"]["id"] == runs["first"]["edgec route home"]["id"]
    assert f"deleting the integration of edgec route partner to {URL}" in runs["private_deploy"].stderr
    assert len(runs["private_alb"]["target_groups"]) == 2


def test_the_calls_pass_the_model_and_the_alb_profile_still_refuses_tls():
    plan, _ = plan_of(SOURCE % PUBLIC)
    [integ] = [i for i in plan.api.integrations if i.route == "partner"]
    assert integ.create.params["TlsConfig"] == {"ServerNameToVerify": "edge.partner.example.com"}
    target, ctx, items = compile_(SOURCE % PUBLIC, "alb")
    assert any(d.code == "E401" and "upstream.tls" in d.message for d in items)


@pytest.mark.parametrize("upstream, why", [
    ('  upstream partner {\n    server "10.0.6.10:443"\n    tls ca "/etc/edge/ca.pem"\n  }\n', "one server named by DNS"),
    ('  upstream partner {\n    server "a.example.com:443"\n    server "b.example.com:443"\n'
     '    tls ca "/etc/edge/ca.pem"\n  }\n', "one server named by DNS"),
    (PUBLIC.replace("  }\n", "    health get \"/health\" every 5s timeout 1s\n  }\n"), "no health check"),
])
def test_an_upstream_api_gateway_cannot_reach_at_a_url_is_refused(upstream, why):
    assert why in refusal(SOURCE % upstream)


def test_a_rewrite_or_split_on_the_public_route_is_refused():
    assert "rewrites the request" in refusal(
        (SOURCE % PUBLIC).replace('    forward partner', '    strip_prefix "/partner"\n    forward partner'))
    assert "splits its requests" in refusal(
        (SOURCE % PUBLIC).replace('    forward partner', '    forward partner 50%, app 50%'))


def test_a_route_the_public_one_shadows_by_header_is_refused():
    source = (SOURCE % PUBLIC).replace('  route home {', '  route beta {\n    match path prefix "/partner" '
                                                          'header "X-Beta" = "1"\n    request_header set "X-Env" "prod"\n'
                                                          '    forward app\n  }\n  route home {')
    assert "public upstream" in refusal(source)


def test_the_path_mapping_counts_against_the_quota():
    assert "$request.path" in apigw.request_parameters(
        compile_(SOURCE % PUBLIC)[1].edge.route("partner"), True).values()


def test_a_request_no_route_answers_must_not_reach_the_public_server():
    source = (SOURCE % PUBLIC).replace('match path prefix "/partner"', 'match path prefix "/partner" header "X-Key" present')
    source = source.replace('  route home {\n    match path prefix "/"\n    forward app\n  }\n', "")
    assert "to GET /partner, which no route answers" in refusal(source)
