"""-O gateway=...: which gateway is built, and what API Gateway's method-and-path route
selection refuses, at the route, without running anything."""
from __future__ import annotations

import http
import json

from edgec.targets.aws.validate import problems

from .test_gateway import EDGE, compile_

BASE = '''edge "g" {
  env prod {
    target aws {
      region "us-east-1"
    }
  }
  listen http 80
  upstream a { server "10.0.0.1:80" }
  auth jwt main { issuer "https://i.example.com/" jwks "https://i.example.com/k" audience "x" }
%s
}
'''


def codes(items):
    return [(d.code, d.line) for d in items if d.severity == "error" or d.code == "W414"]


def test_alb_refuses_what_apigw_builds_and_every_call_passes_the_model():
    _, _, alb = compile_(EDGE.read_text(), "alb")
    assert "E401" in {c for c, _ in codes(alb)}
    target, ctx, items = compile_(EDGE.read_text(), "apigw")
    assert codes(items) == []
    plan = target.plan(ctx)
    assert plan.api and [c.service for c in plan.api.calls()].count("apigatewayv2") == len(plan.api.calls())
    assert [p for c in plan.calls() for p in problems(c)] == []


def test_auto_says_when_it_chooses_api_gateway():
    _, _, items = compile_(EDGE.read_text(), "auto")
    [w] = [d for d in items if d.code == "W414"]
    assert "request_headers.set" in w.message and not [d for d in items if d.severity == "error"]
    plain = BASE % '  route r { forward a }'
    target, ctx, items = compile_(plain, "auto")
    assert codes(items) == [] and target.plan(ctx).api is None


def test_an_unknown_gateway_is_an_option_error():
    _, _, items = compile_(EDGE.read_text(), "nginx")
    assert [d.code for d in items] == ["E403"]


def test_routes_that_differ_only_by_header_need_the_same_gateway_settings():
    source = BASE % '''  route admin {
    match path prefix "/api" header "X-Admin" present
    auth main
    forward a
  }
  route api {
    match path prefix "/api"
    forward a
  }'''
    _, _, items = compile_(source)
    [err] = [d for d in items if d.severity == "error"]
    assert err.code == "E410" and "route key" in err.message and err.line == 16  # the second route's match


def test_a_conditional_route_cannot_hide_an_authorizer():
    source = BASE % '''  route open {
    match path prefix "/api/v1" header "X-Open" present
    forward a
  }
  route api {
    match path prefix "/api"
    auth main
    forward a
  }'''
    _, _, items = compile_(source)
    [err] = [d for d in items if d.severity == "error"]
    assert err.code == "E410" and "would apply the settings of route 'open'" in err.message


def test_one_required_scope_is_the_routes_authorization_scope_and_two_are_refused():
    one = BASE % '''  route orders {
    match path prefix "/orders"
    auth main
    require scope "orders:read"
    forward a
  }'''
    target, ctx, items = compile_(one)
    assert codes(items) == []
    creates = [c for c in target.plan(ctx).api.calls() if c.operation == "CreateRoute"]
    assert creates and all(c.params["AuthorizationScopes"] == ["orders:read"] for c in creates)
    assert [p for c in creates for p in problems(c)] == []
    _, _, items = compile_(one.replace('"orders:read"', '"orders:read" "orders:write"'))
    [err] = [d for d in items if d.severity == "error"]
    assert err.code == "E410" and "any one of" in err.message and err.line == 10
    _, _, items = compile_(one.replace('require scope "orders:read"', 'require claim "role" "admin"'))
    assert [d.code for d in items if d.severity == "error"] == ["E401"]


def test_header_values_with_dollar_are_refused_at_the_route():
    source = BASE % '''  route r {
    request_header set "X-A" "$context.x"
    forward a
  }'''
    _, _, items = compile_(source)
    [err] = [d for d in items if d.severity == "error"]
    assert err.code == "E410" and "'$'" in err.message and err.line == 10


def test_response_headers_map_on_every_registered_status_and_pass_the_model():
    source = BASE % '''  route r {
    response_header set "X-Frame-Options" "DENY"
    response_header remove "Server"
    forward a
  }'''
    target, ctx, items = compile_(source)
    assert codes(items) == []
    [integration] = target.plan(ctx).api.integrations
    responses = integration.create.params["ResponseParameters"]
    assert list(responses) == [str(s) for s in range(200, 600) if s in {h.value for h in http.HTTPStatus}]
    assert set(map(json.dumps, responses.values())) == {json.dumps(
        {"overwrite:header.X-Frame-Options": "DENY", "remove:header.Server": "''"})}
    assert problems(integration.create) == [] and problems(integration.update) == []
    assert "approximates" in next(d.message for d in items if "response_headers.set" in d.message)


def test_routes_that_differ_only_by_header_need_the_same_response_headers():
    source = BASE % '''  route beta {
    match path prefix "/c" header "X-Beta" = "1"
    response_header set "X-Served-By" "beta"
    forward a
  }
  route c {
    match path prefix "/c"
    forward a
  }'''
    _, _, items = compile_(source)
    [err] = [d for d in items if d.severity == "error"]
    assert err.code == "E410" and "response_header" in err.hint


def test_what_aws_cannot_serve_answers_501_and_says_so_at_the_route():
    source = BASE % '''  route both {
    match path exact "/both"
    aggregate {
      x = get a "/x"
    }
  }
  route old {
    match path prefix "/old"
    redirect 301 prefix "/new"
  }
  route r {
    cache 30s
    retries 2
    forward a
  }'''
    _, _, alb = compile_(source, "alb")
    assert {"E401"} <= {d.code for d in alb if d.severity == "error"}
    target, ctx, items = compile_(source)
    assert codes(items) == []
    assert any("route 'old' on the paths /old/*" in d.message for d in items if d.code == "W402")
    assert {d.line for d in items if d.code == "W402" and ("501" in d.message)} == {10, 16}
    assert any("[cache]" in d.message and d.line == 20 for d in items)
    rules = {(r.route, r.create.params["Conditions"][0]["PathPatternConfig"]["Values"][0]):
             r.create.params["Actions"][-1] for r in target.plan(ctx).listeners[0].rules}
    assert rules[("both", "/both")]["FixedResponseConfig"]["StatusCode"] == "501"
    assert rules[("old", "/old/*")]["FixedResponseConfig"]["StatusCode"] == "501"
    assert rules[("old", "/old")]["Type"] == "redirect"  # an exact path still redirects


def test_a_custom_domain_per_exact_host_when_the_edge_serves_https():
    https = BASE.replace("listen http 80", 'listen https 443 { tls cert "/e/c.crt" key "/e/c.key" }')
    routes = '''  route a {
    match host "api.example.com" path prefix "/a"
    match host "*.example.com" path prefix "/a"
    forward a
  }
  route b {
    match host "www.example.com"
    forward a
  }'''
    target, ctx, items = compile_(https % routes)
    assert codes(items) == []
    plan = target.plan(ctx)
    assert [d.name for d in plan.api.domains] == ["api.example.com", "www.example.com"]
    for d in plan.api.domains:
        assert d.mapping.params["Stage"] == "$default" and d.create.params["Tags"]["edgec:edge"] == "g"
        assert [p for c in (d.create, d.update, d.mapping) for p in problems(c)] == []
    assert [p for c in plan.api_teardown.calls() for p in problems(c)] == []
    target, ctx, _ = compile_(BASE % routes)  # plain HTTP: no certificate to present
    assert target.plan(ctx).api.domains == []


def test_without_cors_the_plan_deletes_an_earlier_cors_configuration():
    target, ctx, _ = compile_(BASE % '  route r { forward a }')
    api = target.plan(ctx).api
    assert api.delete_cors.operation == "DeleteCorsConfiguration" and problems(api.delete_cors) == []
