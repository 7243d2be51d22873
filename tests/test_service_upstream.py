"""`service "NAME:PORT"` on every target: the Gateway API refers to the Service itself
(tests/gateway_api/test_backends.py), the proxies reach the host name NAME, which the
cluster's DNS resolves, and ALB refuses it with the reason its capability row gives."""
from __future__ import annotations

from ruamel.yaml import YAML

from edgec.diagnostics import Sink
from edgec.pipeline import analyse, emit
from edgec.targets import get

SOURCE = '''edge "t" {
  listen http 8080
  upstream users {
    service "users:8080"
  }
  route r {
    forward users
  }
}'''


def built(target: str, **options):
    result = analyse(SOURCE, "t.edge")
    assert result.edge is not None, [d.message for d in result.diagnostics]
    sink = Sink("t.edge")
    out = emit(result.edge, [get(target)], sink, {k: str(v) for k, v in options.items()})
    return out, [d for d in sink.items if d.severity == "error"]


def test_nginx_envoy_and_spring_reach_the_services_name():
    nginx, errors = built("nginx")
    assert not errors and "server users:8080" in nginx.files["nginx.conf"]
    envoy, errors = built("envoy", validate="off")
    assert not errors
    clusters = YAML(typ="safe").load(envoy.files["envoy.yaml"])["static_resources"]["clusters"]
    cluster = next(c for c in clusters if c["name"] == "users")
    assert cluster["type"] == "STRICT_DNS"
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (address["address"], address["port_value"]) == ("users", 8080)
    spring, errors = built("spring")
    # the load balancer's one instance of upstream users
    assert not errors and "- uri: http://users:8080" in spring.files["src/main/resources/application.yml"]


def test_alb_refuses_a_service_with_the_reason():
    out, errors = built("aws")
    assert out.built == [] and [d.code for d in errors] == ["E401"]
    assert "[upstream.service]" in errors[0].message and "target group" in errors[0].message

