"""How edge routes become HTTPRoutes: one per host name, its fallbacks repeated, ranks the
Gateway API would decide differently refused at the route, 16 rules per HTTPRoute, the
CRDs' CEL rules kept, names valid and deterministic, values kept inside their quoting.
Every build that succeeds is also checked by kubectl-validate against the pinned CRDs."""
from __future__ import annotations

from ruamel.yaml import YAML

from tests.support.hostile import HOSTILE, edge_string

from .support import build, validate


def manifests(compile_edge, text, tmp_path, crd_dir, **options):
    result = compile_edge(text)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(result.edge, options)
    assert files is not None, [(d.code, d.message) for d in diagnostics if d.severity == "error"]
    (tmp_path / "manifests.yaml").write_text(files["manifests.yaml"], encoding="utf-8")
    verdict = validate(tmp_path / "manifests.yaml", crd_dir)
    assert verdict["ok"], verdict["output"]
    return list(YAML(typ="safe").load_all(files["manifests.yaml"]))


def errors(compile_edge, text, **options):
    result = compile_edge(text)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    files, diagnostics = build(result.edge, options)
    assert files is None
    return [d for d in diagnostics if d.severity == "error"]


def routes(docs):
    return {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "HTTPRoute"}


def paths(spec):
    return [(r["name"], r["matches"][0]["path"]["value"]) for r in spec["rules"]]


def test_a_route_per_host_repeats_the_routes_it_falls_back_to(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      upstream b { server "10.0.0.2:80" }
      route own { match host "app.example.com" path prefix "/api" forward a }
      route wild { match host "*.example.com" path prefix "/static" forward b }
      route any { match path exact "/healthz" forward b }
    }''', tmp_path, crd_dir)
    by_name = routes(docs)
    assert set(by_name) == {"t-app.example.com", "t-wildcard-example.com", "t-any-host"}
    assert by_name["t-app.example.com"]["hostnames"] == ["app.example.com"]
    assert paths(by_name["t-app.example.com"]) == [("own-1", "/api"), ("wild-1", "/static"), ("any-1", "/healthz")]
    assert paths(by_name["t-wildcard-example.com"]) == [("wild-1", "/static"), ("any-1", "/healthz")]
    assert "hostnames" not in by_name["t-any-host"]


def test_a_fallback_the_gateway_api_would_rank_first_is_refused_at_its_route(compile_edge):
    # edgec: a GET for app.example.com takes `own` (its host) even for /api/x; the Gateway
    # API ranks the longer prefix of `any` first within one HTTPRoute
    found = errors(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route own { match host "app.example.com" path prefix "/api" method GET forward a }
      route any { match path prefix "/api/x" forward a }
    }''')
    assert [(d.code, d.line, d.column) for d in found] == [("E401", 5, 19)]
    assert "route 'any' under host 'app.example.com'" in found[0].message
    assert found[0].hint


def test_an_unreachable_fallback_is_left_out_of_the_host_route(compile_edge, tmp_path, crd_dir):
    # under www.example.com `site` takes every request: `api`, ranked first by the Gateway
    # API, must not be there
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route site { match host "www.example.com" forward a }
      route api { match path prefix "/api" forward a }
    }''', tmp_path, crd_dir)
    by_name = routes(docs)
    assert paths(by_name["t-www.example.com"]) == [("site-1", "/")]
    assert paths(by_name["t-any-host"]) == [("api-1", "/api")]


def test_more_than_16_rules_split_between_ranks(compile_edge, tmp_path, crd_dir):
    lines = "\n".join(f'route r{i:02d} {{ match path prefix "/p{i:02d}" forward a }}' for i in range(20))
    # two routes of equal rank one request can meet: never in different HTTPRoutes
    docs = manifests(compile_edge, f'''edge "t" {{
      listen http 8080
      upstream a {{ server "10.0.0.1:80" }}
      {lines}
    }}''', tmp_path, crd_dir)
    by_name = routes(docs)
    assert [len(s["rules"]) for s in by_name.values()] == [16, 4]
    assert list(by_name) == ["t-any-host", "t-any-host-2"]


def test_equal_ranks_that_overlap_stay_in_one_route(compile_edge, tmp_path, crd_dir):
    same = "\n".join(f'route s{i:02d} {{ match path prefix "/same" header "X-K" = "{i}" method GET '
                     f'forward a }}' for i in range(3))
    other = "\n".join(f'route r{i:02d} {{ match path prefix "/p{i:02d}/deeper" forward a }}' for i in range(15))
    docs = manifests(compile_edge, f'''edge "t" {{
      listen http 8080
      upstream a {{ server "10.0.0.1:80" }}
      {other}
      route t00 {{ match path prefix "/same" method GET forward a }}
      route t01 {{ match path prefix "/same" method GET forward a }}
      {same}
    }}''', tmp_path, crd_dir)
    chunks = [[r["name"] for r in s["rules"]] for s in routes(docs).values()]
    assert ["t00-1", "t01-1"] in [[n for n in c if n.startswith("t0")] for c in chunks]
    assert all(len(c) <= 16 for c in chunks)


def test_prefix_rewrite_keeps_the_cel_rules(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route users { match path prefix "/api/v1/users" method GET POST strip_prefix "/api/v1" forward a }
      route exact { match path exact "/v1/me" strip_prefix "/v1" forward a }
      route moved { match path prefix "/old" redirect 301 prefix "/new" }
    }''', tmp_path, crd_dir)
    rules = {r["name"]: r for r in routes(docs)["t-any-host"]["rules"]}
    # ReplacePrefixMatch needs exactly one PathPrefix match: one rule per method
    assert [rules[n]["matches"] for n in ("users-1-1", "users-1-2")] == [
        [{"path": {"type": "PathPrefix", "value": "/api/v1/users"}, "method": "GET"}],
        [{"path": {"type": "PathPrefix", "value": "/api/v1/users"}, "method": "POST"}]]
    assert rules["users-1-1"]["filters"] == [{"type": "URLRewrite", "urlRewrite": {"path": {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}] or rules["users-1-1"]["filters"][0][
        "urlRewrite"]["path"]["type"] == "ReplacePrefixMatch"
    # after an exact match the whole path is known
    assert rules["exact-1"]["filters"][0]["urlRewrite"]["path"] == {"type": "ReplaceFullPath",
                                                                     "replaceFullPath": "/me"}
    assert rules["moved-1"]["filters"][0]["requestRedirect"] == {
        "statusCode": 301, "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}}
    assert "backendRefs" not in rules["moved-1"]


def test_https_redirect_tls_secret_and_hsts(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, '''edge "Shop_Edge" {
      listen http 80 { redirect https }
      listen https 443 { tls cert "/etc/x.crt" key "/etc/x.key" hsts 365d }
      upstream a { server "10.0.0.1:80" }
      route r { match path prefix "/" forward a }
    }''', tmp_path, crd_dir, namespace="edge-prod", tls_secret="shop-tls")
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    assert gateway["metadata"]["namespace"] == "edge-prod"
    assert gateway["spec"]["listeners"][1]["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "shop-tls"}]
    by_name = routes(docs)
    redirect = next(s for n, s in by_name.items() if "to-https" in n)
    assert redirect["parentRefs"][0]["sectionName"] == "http-80"
    assert redirect["rules"][0]["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 301}
    serving = next(s for n, s in by_name.items() if "to-https" not in n)
    assert serving["parentRefs"][0]["sectionName"] == "https-443"
    assert serving["rules"][0]["filters"][0]["responseHeaderModifier"]["set"][0]["name"] == \
        "Strict-Transport-Security"
    # one DNS-1123 name derived from "Shop_Edge", the same every build
    assert {d["metadata"]["labels"]["edgec.dev/edge"] for d in docs} == {gateway["metadata"]["name"]}
    assert gateway["metadata"]["name"].startswith("shop-edge-")


def test_printed_kubectl_commands_name_the_namespace(compile_edge):
    result = compile_edge('''edge "shop" {
      listen https 443 { tls cert "/etc/x.crt" key "/etc/x.key" }
      upstream a { server "10.0.0.1:443" tls ca "/etc/ca.pem" sni "a.internal" }
      route r { match path prefix "/" forward a }
    }''')
    files, _ = build(result.edge, {"namespace": "edge-prod", "tls_secret": "shop-tls"})
    commands = [line for line in files["manifests.yaml"].splitlines() if "kubectl create" in line]
    assert len(commands) == 2
    assert any("kubectl create secret tls shop-tls -n edge-prod --cert=/etc/x.crt" in c for c in commands)
    assert any("kubectl create configmap" in c and " -n edge-prod --from-file=" in c for c in commands)


def test_hostile_values_stay_values(compile_edge, tmp_path, crd_dir):
    text = HOSTILE  # line breaks are refused in header values before any target
    docs = manifests(compile_edge, f'''edge "t" {{
      listen http 8080
      upstream a {{ server "10.0.0.1:80" }}
      route r {{ match path prefix "/" header "X-B" = {edge_string(text)}
                 request_header set "X-A" {edge_string(text)} forward a }}
    }}''', tmp_path, crd_dir)
    rule = routes(docs)["t-any-host"]["rules"][0]
    assert rule["filters"][0]["requestHeaderModifier"]["set"] == [{"name": "X-A", "value": text}]
    assert rule["matches"][0]["headers"] == [{"type": "Exact", "name": "X-B", "value": text}]


def test_paths_the_crd_refuses_are_refused_at_the_match(compile_edge):
    found = errors(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route r { match path prefix "/a%2fb" forward a }
    }''')
    assert [(d.code, d.line) for d in found] == [("E401", 4)]
    assert "%2f" in found[0].message


def test_servers_by_host_name_are_an_external_name_service(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream orders_v2 { server "orders.internal:8080" }
      route r { match path prefix "/" forward orders_v2 }
    }''', tmp_path, crd_dir)
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "orders.internal"
    assert routes(docs)["t-any-host"]["rules"][0]["backendRefs"] == [{"name": service["metadata"]["name"],
                                                                      "port": 8080}]


def test_envoy_gateway_keeps_the_first_match_order(compile_edge, tmp_path, crd_dir):
    # what the generic profile refuses, Envoy Gateway told to keep the rules' order expresses
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route own { match host "app.example.com" path prefix "/api" method GET forward a }
      route any { match path prefix "/api/x" forward a }
    }''', tmp_path, crd_dir, impl="envoy-gateway")
    proxy = next(d for d in docs if d["kind"] == "EnvoyProxy")
    assert proxy["spec"] == {"preserveRouteOrder": True}
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    assert gateway["spec"]["infrastructure"]["parametersRef"] == {
        "group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": proxy["metadata"]["name"]}
    assert paths(routes(docs)["t-app.example.com"]) == [("own-1", "/api"), ("any-1", "/api/x")]


def test_envoy_gateway_refuses_a_regex_re2_cannot_mean_the_same(compile_edge):
    found = errors(compile_edge, r'''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route r { match path regex "/x\\b" forward a }
    }''', impl="envoy-gateway")
    assert [(d.code, d.line) for d in found] == [("E401", 4)]
    assert "RE2" in found[0].message


def test_envoy_gateway_answers_a_respond_route_with_its_direct_response(compile_edge, tmp_path, crd_dir):
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      route health { match path exact "/lb-health" respond 200 "ok" type "text/plain" }
    }''', tmp_path, crd_dir, impl="envoy-gateway")
    answer = next(d for d in docs if d["kind"] == "HTTPRouteFilter")
    assert answer["spec"] == {"directResponse": {"statusCode": 200, "contentType": "text/plain",
                                                 "body": {"type": "Inline", "inline": "ok"}}}
    rule = routes(docs)["t-any-host"]["rules"][0]
    assert rule["filters"] == [{"type": "ExtensionRef", "extensionRef": {
        "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": answer["metadata"]["name"]}}]
    assert "backendRefs" not in rule


def test_a_prefix_written_with_its_final_slash_and_a_scheme_redirect(compile_edge, tmp_path, crd_dir):
    # the final "/" of a prefix is ignored: /foo/bar → /xyz/bar, never /xyz//bar; a redirect
    # to a scheme writes that scheme's port, which the Gateway API derives but Envoy Gateway
    # would take from the Host header
    docs = manifests(compile_edge, '''edge "t" {
      listen http 8080
      upstream a { server "10.0.0.1:80" }
      route r { match path prefix "/foo/" strip_prefix "/foo" forward a }
      route s { match path prefix "/secure" redirect 302 scheme https }
    }''', tmp_path, crd_dir)
    rules = {r["name"]: r for r in routes(docs)["t-any-host"]["rules"]}
    assert rules["r-1"]["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch",
                                                                "replacePrefixMatch": "/"}
    assert rules["s-1"]["filters"][0]["requestRedirect"] == {"statusCode": 302, "scheme": "https", "port": 443}
