"""The plan's own checks: quotas split when that keeps the meaning and refused (naming the
quota, at the route) when it does not; botocore's model limits; names; inputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgec.targets.aws.calls import Call, Origin
from edgec.targets.aws.names import elb_name, waf_name
from edgec.targets.aws.validate import problems

from .build import build, errors, plan_of

HERE = Path("quota.edge")


def edge(routes: str, upstreams: str = 'upstream a { server "10.0.0.1:80" }', env: str = "") -> str:
    return (f'edge "q" {{\n  env prod {{ target aws {{ region "us-east-1" {env} }} }}\n  listen http 80\n  {upstreams}\n'
            f'{routes}\n}}\n')


def rules(source: str) -> list[dict]:
    plan = plan_of(HERE, "prod", source=source)
    return [r.create.params for lst in plan.listeners for r in lst.rules]


def refused(source: str) -> list[dict]:
    diagnostics, files = build(HERE, "prod", source=source)
    assert not files
    return errors(diagnostics)


def test_many_hosts_split_into_rules_of_three_values():
    made = rules(edge('route r {\n match host "a.example.com" "b.example.com" "c.example.com" '
                      '"d.example.com" path exact "/x" forward a\n}'))
    hosts = [c["HostHeaderConfig"]["Values"] for r in made for c in r["Conditions"] if c["Field"] == "host-header"]
    # decide ranks each host on its own, so each is its own rule
    assert sorted(h for vals in hosts for h in vals) == ["a.example.com", "b.example.com", "c.example.com",
                                                         "d.example.com"]
    assert all(len(r["Conditions"]) <= 5 for r in made)


def test_methods_and_prefix_values_split_to_five_evaluations_per_rule():
    made = rules(edge('route r {\n match path prefix "/p" method GET POST PUT DELETE PATCH '
                      'header "X-A" = "1" header "X-B" = "2"\n forward a\n}'))
    for r in made:
        values = sum(len(c[k]["Values"]) for c in r["Conditions"] for k in c if k.endswith("Config"))
        assert values <= 5
        assert all(len(c[k]["Values"]) <= 3 for c in r["Conditions"] for k in c if k.endswith("Config"))
    covered = {(p, m) for r in made
               for p in next(c["PathPatternConfig"]["Values"] for c in r["Conditions"] if c["Field"] == "path-pattern")
               for m in next(c["HttpRequestMethodConfig"]["Values"] for c in r["Conditions"]
                             if c["Field"] == "http-request-method")}
    assert covered == {(p, m) for p in ("/p", "/p/*") for m in ("GET", "POST", "PUT", "DELETE", "PATCH")}


def test_too_many_anded_conditions_are_refused_naming_the_quota():
    headers = " ".join(f'header "X-{i}" = "v"' for i in range(6))
    [error] = refused(edge(f'route r {{\n match path exact "/x" {headers}\n forward a\n}}'))
    assert error["code"] == "E411" and "5 match evaluations" in error["message"] and error["line"] == 6


def test_more_than_a_hundred_rules_are_refused():
    routes = "\n".join(f'route r{i} {{ match path exact "/p{i}" forward a }}' for i in range(101))
    [error] = refused(edge(routes))
    assert error["code"] == "E411" and "at most 100" in error["message"] and "route 'r100'" in error["message"]
    assert error["line"] == 4 + 101  # the route that is one too many


def test_forward_to_more_than_five_upstreams_is_refused():
    ups = "\n".join(f'upstream u{i} {{ server "10.0.0.{i + 1}:80" }}' for i in range(6))
    backends = ", ".join(f"u{i} 10" for i in range(6))
    [error] = refused(edge(f'route r {{ match path prefix "/" forward {backends} }}', ups))
    assert error["code"] == "E411" and "at most 5 target groups" in error["message"]


def test_weights_above_999_are_refused():
    ups = 'upstream a { server "10.0.0.1:80" } upstream b { server "10.0.0.2:80" }'
    [error] = refused(edge('route r { match path prefix "/" forward a 1000, b 1 }', ups))
    assert error["code"] == "E411" and "0-999" in error["message"]


def test_health_check_timeout_must_be_shorter_than_its_interval():
    ups = 'upstream a { server "10.0.0.1:80" health get "/h" every 5s timeout 5s }'
    found = refused(edge('route r { match path prefix "/" forward a }', ups))
    assert [e["code"] for e in found if "shorter than its interval" in e["message"]] == ["E411"], found


@pytest.mark.parametrize("rate,limit,window", [("100/min", 100, 60), ("10/s", 600, 60), ("30/h", None, None),
                                               ("200/day", None, None), ("1000/h", 167, 600)])
def test_rate_limits_become_waf_windows_or_are_refused(rate, limit, window):
    source = edge(f'route r {{ match path prefix "/" rate_limit {rate} forward a }}')
    if limit is None:
        [error] = refused(source)
        assert error["code"] == "E411" and "at least 10 requests" in error["message"]
        return
    plan = plan_of(HERE, "prod", source=source)
    statement = plan.waf.create.params["Rules"][0]["Statement"]["RateBasedStatement"]
    assert (statement["Limit"], statement["EvaluationWindowSec"]) == (limit, window)


def test_alb_characters_and_values_it_cannot_take_are_refused():
    for routes, words in [('route r { match path exact "/a%20b" forward a }', "path patterns"),
                          ('route r { match path exact "/x" header "X-A" = "a*b" forward a }', "wildcards"),
                          ('route r { match path exact "/x" respond 302 "moved" }', "2xx, 4xx or 5xx"),
                          ('route r { match path exact "/x" respond 200 "x" type "image/png" }', "content type"),
                          ('route r { match path prefix "/x" redirect 301 prefix "/y" }', "prefix"),
                          ('route r { match path exact "/x" redirect 307 "https://a.example.com/" }', "301 or 302")]:
        [error] = refused(edge(routes))
        assert error["code"] == "E410" and words in error["message"], error


def test_the_model_check_finds_what_botocore_skips():
    """ParamValidator checks minimums only; maximums, enums and patterns are checked here."""
    call = Call("elbv2", "CreateTargetGroup", {"Name": "x", "Protocol": "HTTPX", "Port": 70000,
                                               "HealthCheckPath": "/" * 1025, "Bogus": 1}, Origin("test"))
    found = "\n".join(problems(call))
    assert "Bogus" in found  # unknown key (botocore)
    assert "CreateTargetGroup.HealthCheckPath: 1025 characters, at most 1024" in found
    assert "'HTTPX' is not one of" in found
    assert "CreateTargetGroup.Port: 70000, at most 65535" in found
    waf = Call("wafv2", "CreateWebACL", {"Name": "bad name!", "Scope": "REGIONAL", "DefaultAction": {"Allow": {}},
                                         "VisibilityConfig": {"SampledRequestsEnabled": True,
                                                              "CloudWatchMetricsEnabled": True,
                                                              "MetricName": "m"}}, Origin("test"))
    assert any("does not match" in p for p in problems(waf))


def test_every_call_of_a_real_plan_is_valid():
    plan = plan_of(Path(__file__).parent / "edges" / "alb.edge", "prod")
    assert [p for call in plan.calls() for p in problems(call)] == []


def test_names_are_valid_deterministic_and_distinct():
    assert elb_name("edgec", "shop", "prod") == "edgec-shop-prod"
    long_one = elb_name("edgec", "a-very-long-edge-name-for-the-shop", "production")
    assert len(long_one) <= 32 and long_one == elb_name("edgec", "a-very-long-edge-name-for-the-shop", "production")
    assert elb_name("orders_v2") != elb_name("orders-v2")
    assert not elb_name("internal-x").startswith("internal-")
    assert all(len(elb_name(x)) <= 32 and "--" not in elb_name(x) and not elb_name(x).endswith("-")
               for x in ("a--b", "-x-", "x" * 40, "sp ace", "ünïcode"))
    assert waf_name("rate", "my route!") != waf_name("rate", "my route?")


def test_aws_inputs_in_the_file_are_checked():
    [error] = refused(edge('route r { match path prefix "/" forward a }', env='vpc "vpc-1; rm -rf /"'))
    assert error["code"] == "E412" and "aws vpc: 'vpc-1; rm -rf /' is not the VPC" in error["message"]
    [error] = refused(edge('route r { match path prefix "/" forward a }', env='subnets ["subnet-1"]'))
    assert error["code"] == "E412" and "two availability zones" in error["message"]
    [error] = refused(edge('route r { match path prefix "/" forward a }', env='subnets "subnet-1"'))
    assert error["code"] == "E412" and error["message"] == "aws subnets must be a list"
    diagnostics, files = build(HERE, "prod", source=edge('route r { match path prefix "/" forward a }',
                                                         env='regoin "us-east-1"'))
    [error] = [d for d in diagnostics if d.severity == "error"]
    assert not files and (error.code, error.message, error.hint, error.line) == (
        "E412", "'regoin' is not a setting of the aws target", "did you mean 'region'?", 2)


def test_aws_inputs_from_variables_count_as_used():
    diagnostics, files = build(HERE, "prod", source=edge(
        'route r { match path prefix "/" forward a }', env='subnets ${nets}').replace(
        "env prod {", 'env prod { nets = ["subnet-1", "subnet-2"]'))
    assert not [d for d in diagnostics if d.code == "W303"]
    assert "subnet-1 subnet-2" in files["deploy.sh"]
