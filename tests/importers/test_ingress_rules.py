"""ingress-nginx's routing as the imported file decides it: path types, hosts, the default backend,
canaries and the annotations' statements."""
from __future__ import annotations

from edgec.importers.check import checked, ingress_mismatches
from edgec.importers.ingress import import_ingress
from edgec.routing import Request, decide

from .test_ingress_corpus import CORPUS


def load(name: str):
    result = import_ingress([str(CORPUS / name)], "t")
    edge, diags = checked(result, "t.edge", name, ingress_mismatches)
    assert edge is not None, [d.message for d in diags]
    return edge, result.text, diags


def ask(edge, path: str, host: str, headers=()):
    return decide(edge, Request.to_edge(edge, "GET", path, host=host, headers=headers))


def test_exact_wins_then_the_longest_prefix_element_by_element():
    edge, _, _ = load("04-exact-and-prefix.yaml")
    assert ask(edge, "/api/health", "shop.example").upstream == "health-8080"
    assert ask(edge, "/api/health/x", "shop.example").upstream == "api-8080"
    assert ask(edge, "/api/v2/x", "shop.example").upstream == "api-v2-8080"
    assert ask(edge, "/api/v20", "shop.example").upstream == "api-8080"  # /api/v2 is not a prefix of /api/v20
    assert ask(edge, "/apix", "shop.example").status == 404


def test_a_host_with_rules_never_falls_to_the_rules_without_a_host():
    edge, _, _ = load("05-default-backend.yaml")
    assert ask(edge, "/other", "app.example").upstream == "fallback-80"
    assert ask(edge, "/app/x", "app.example").upstream == "app-80"


def test_rewrite_target_with_the_prefix_form_strips_or_replaces_the_prefix():
    edge, _, diags = load("07-rewrite-target.yaml")
    assert ask(edge, "/something/new?x=1", "rewrite.bar.com").upstream_path == "/new?x=1"
    assert ask(edge, "/something", "rewrite.bar.com").upstream_path == "/"
    assert any(d.code == "W503" and "ignoring case" in d.message for d in diags)
    edge, _, _ = load("08-rewrite-new-prefix.yaml")
    assert ask(edge, "/legacy/users", "api.example").upstream_path == "/v1/users"


def test_regex_paths_are_tried_longest_first_and_ignore_case():
    edge, text, _ = load("09-use-regex.yaml")
    assert ask(edge, "/foo/bar/ABC", "test.com").upstream == "test-regex-80"
    assert ask(edge, "/foo/bar/abc", "test.com").upstream == "test-regex-80"  # ~* : case ignored
    # ingress-nginx's own warning: the longer path is tried first, and its regex takes /foo/bar/bar
    assert ask(edge, "/foo/bar/bar", "test.com").upstream == "test-regex-80"
    assert ask(edge, "/foo/bar/bar/", "test.com").upstream == "test-regex-80"
    assert ask(edge, "/foo/bar/b", "test.com").status == 404


def test_canary_by_header_then_by_weight():
    edge, _, _ = load("21-canary-header.yaml")
    assert ask(edge, "/", "echo.example", (("X-Canary", "on"),)).upstream == "canary-80"
    assert ask(edge, "/", "echo.example").shares() == {"production-80": 0.95, "canary-80": 0.05}


def test_annotations_become_statements():
    _, text, _ = load("16-cors.yaml")
    assert 'origins "https://app.example" "https://admin.example"' in text and "max_age 600s" in text
    _, text, _ = load("18-affinity.yaml")
    assert 'sticky cookie "route" ttl 172800s' in text
    _, text, _ = load("19-source-ranges.yaml")
    assert 'allow "10.0.0.0/8" "192.168.0.0/16"' in text and 'deny "10.9.0.0/16"' in text
    _, text, diags = load("10-tls.yaml")
    assert "redirect https" in text and any("308" in d.message for d in diags)


def test_the_request_id_is_not_copied_from_the_auth_answer(tmp_path):
    """auth-response-headers naming X-Request-Id would write a file lint refuses (E232)."""
    source = (CORPUS / "15-external-auth.yaml").read_text().replace('"X-User-Id, X-Scopes"',
                                                                    '"X-User-Id, x-request-id, X-Scopes"')
    (tmp_path / "auth.yaml").write_text(source)
    result = import_ingress([str(tmp_path / "auth.yaml")], "t")
    edge, diags = checked(result, "t.edge", "auth.yaml", ingress_mismatches)
    assert edge is not None, [d.message for d in diags]
    assert 'copy_headers "X-User-Id" "X-Scopes"' in result.text
    assert any(d.code == "W503" and "X-Request-Id in auth-response-headers" in d.message
               for d in result.diagnostics)
