"""Builds that change what API Gateway holds converge against the emulator: dropping `cors`
clears the API's CORS configuration, a host the routes no longer name loses its custom domain
(and a new one gets its own, mapped to the API), and a build without API Gateway
(-O gateway=alb) deletes the HTTP API, VPC link and custom domains an earlier -O gateway=apigw
build made for the edge and env."""
from __future__ import annotations

import pytest

from .readback import is_empty, state
from .test_deploy import write
from .test_gateway import LOG_GROUP, api_state, compile_

CORS = '''    cors {
      origins "https://app.example.com"
      methods GET
    }
'''
SOURCE = '''edge "conv" {
  env prod {
    target aws {
      region "us-east-1"
    }
  }
  listen https 443 {
    tls cert "/etc/edge/conv.crt" key "/etc/edge/conv.key"
  }
  upstream a { server "10.0.5.10:8080" }
  route api {
    match host "%s" path prefix "/api"
%s    forward a
  }
  route home {
    match path prefix "/"
%s    forward a
  }
}
'''


def scripts(source: str, gateway: str, folder):
    target, ctx, items = compile_(source, gateway)
    assert not [d for d in items if d.severity == "error"], [d.message for d in items]
    return target.plan(ctx), write(target.emit(ctx), folder)


@pytest.fixture(scope="module")
def runs(aws, tmp_path_factory):
    base = tmp_path_factory.mktemp("converge")
    with_cors, first = scripts(SOURCE % ("a.example.com", CORS, CORS), "apigw", base / "cors")
    _, second = scripts(SOURCE % ("b.example.com", "", ""), "apigw", base / "plain")
    alb_plan, third = scripts(SOURCE % ("b.example.com", "", ""), "alb", base / "alb")
    gw = aws.client("apigatewayv2")

    def cors():
        [api] = [a for a in gw.get_apis()["Items"] if a["Name"] == with_cors.api.name]
        return api.get("CorsConfiguration")

    def domains():
        """Custom domain → (certificate, tags, [(mapped API, stage)])."""
        return {d["DomainName"]: (d["DomainNameConfigurations"][0]["CertificateArn"], d.get("Tags"),
                                  [(m["ApiId"], m["Stage"]) for m in
                                   gw.get_api_mappings(DomainName=d["DomainName"])["Items"]])
                for d in gw.get_domain_names()["Items"]}

    out = {"name": with_cors.api.name, "alb_plan": alb_plan}
    aws.run(first / "deploy.sh", LOG_GROUP)
    out["cors"], out["domains"] = cors(), domains()
    out["again"] = aws.run(first / "deploy.sh", LOG_GROUP)
    out["domains_again"] = domains()
    out["plain_deploy"] = aws.run(second / "deploy.sh", LOG_GROUP)
    out["plain_cors"], out["plain_domains"] = cors(), domains()
    out["before_alb"] = api_state(aws, with_cors.api.name)
    out["alb_deploy"] = aws.run(third / "deploy.sh")
    out["after_alb"] = api_state(aws, with_cors.api.name)
    out["alb_domains"] = domains()
    out["alb_state"] = state(aws, alb_plan)
    out["alb_again"] = aws.run(third / "deploy.sh")
    aws.run(third / "destroy.sh")
    out["destroyed"] = state(aws, alb_plan)
    return out


def test_dropping_cors_clears_the_apis_cors_configuration(runs):
    assert runs["cors"]["AllowOrigins"] == ["https://app.example.com"]
    assert runs["plain_cors"] is None
    assert "removing its CORS configuration" in runs["plain_deploy"].stderr


def test_a_build_without_api_gateway_deletes_the_api_an_earlier_build_made(runs):
    assert runs["before_alb"]["api"] is not None and len(runs["before_alb"]["vpc_links"]) == 1
    assert runs["after_alb"] == {"api": None, "vpc_links": []}
    assert f"deleting HTTP API {runs['name']}" in runs["alb_deploy"].stderr
    assert len(runs["alb_state"]["load_balancers"]) == 1  # the load balancer stays
    assert "deleting HTTP API" not in runs["alb_again"].stderr
    assert is_empty(runs["destroyed"])


def test_each_host_the_routes_name_gets_a_custom_domain_mapped_to_the_api(runs, aws):
    api = runs["before_alb"]["api"]
    cert = aws.environ["EDGE_AWS_CERTIFICATE"]
    tags = {"edgec:edge": "conv", "edgec:env": "prod"}
    [(first_api, _)] = runs["domains"]["a.example.com"][2]
    assert runs["domains"] == {"a.example.com": (cert, tags, [(first_api, "$default")])}
    assert runs["domains_again"] == runs["domains"]
    assert runs["plain_domains"] == {"b.example.com": (cert, tags, [(api, "$default")])}
    assert "deleting custom domain a.example.com" in runs["plain_deploy"].stderr
    assert runs["alb_domains"] == {}
