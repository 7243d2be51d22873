"""The validator is a real check: manifests that break the CRDs' schema or CEL rules, each
planted into a valid build, are rejected with the rule they break."""
from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from edgec.targets import yaml_text

from .support import build, validate

EDGE = '''edge "t" {
  listen http 8080
  upstream a { server "10.0.0.1:80" }
  route r { match path prefix "/api" strip_prefix "/api" forward a }
}'''


def rule_of(docs):
    return next(d for d in docs if d["kind"] == "HTTPRoute")["spec"]["rules"][0]


def exact_match_with_prefix_rewrite(docs):
    rule_of(docs)["matches"][0]["path"]["type"] = "Exact"


def double_slash_path(docs):
    rule_of(docs)["matches"][0]["path"]["value"] = "/a//b"


def seventeen_rules(docs):
    spec = next(d for d in docs if d["kind"] == "HTTPRoute")["spec"]
    spec["rules"] = [dict(spec["rules"][0], name=f"r{i}") for i in range(17)]


def upper_case_hostname(docs):
    next(d for d in docs if d["kind"] == "HTTPRoute")["spec"]["hostnames"] = ["API.example.com"]


def redirect_with_backends(docs):
    rule_of(docs)["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 301}}]


def bad_status(docs):
    rule_of(docs)["filters"] = [{"type": "RequestRedirect", "requestRedirect": {"statusCode": 399}}]
    del rule_of(docs)["backendRefs"]


def header_name_with_space(docs):
    rule_of(docs)["filters"] = [{"type": "RequestHeaderModifier",
                                 "requestHeaderModifier": {"set": [{"name": "X A", "value": "1"}]}}]


def listener_without_certificate(docs):
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    gateway["spec"]["listeners"][0].update(protocol="HTTPS", tls={"mode": "Terminate"})


PLANTED = {
    exact_match_with_prefix_rewrite: "exactly one PathPrefix match",
    double_slash_path: "must not contain '//'",
    seventeen_rules: "must have at most 16 items",
    upper_case_hostname: "should match",
    redirect_with_backends: "RequestRedirect filter must not be used together with backendRefs",
    bad_status: "Unsupported value: 399",
    header_name_with_space: "should match",
    listener_without_certificate: "certificateRefs or options must be specified when mode is Terminate",
}


def test_the_unchanged_build_is_valid(compile_edge, tmp_path, crd_dir):
    files, _ = build(compile_edge(EDGE).edge)
    (tmp_path / "m.yaml").write_text(files["manifests.yaml"], encoding="utf-8")
    assert validate(tmp_path / "m.yaml", crd_dir)["ok"]


@pytest.mark.parametrize("plant", PLANTED, ids=lambda f: f.__name__)
def test_planted_invalid_output_is_rejected(plant, compile_edge, tmp_path, crd_dir):
    files, _ = build(compile_edge(EDGE).edge)
    docs = list(YAML(typ="safe").load_all(files["manifests.yaml"]))
    plant(docs)
    (tmp_path / "m.yaml").write_text(yaml_text.dump(docs, "planted"), encoding="utf-8")
    verdict = validate(tmp_path / "m.yaml", crd_dir)
    assert not verdict["ok"]
    assert any(PLANTED[plant] in failure for failure in verdict["failures"]), verdict["failures"]
