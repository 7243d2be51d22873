"""deploy.sh and destroy.sh run for real (awscli) against the emulator: the resources read
back match the IR, a second run changes nothing, a changed edge converges in place, and
destroy.sh leaves nothing, twice."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

from edgec.pipeline import analyse
from edgec.targets.aws.calls import Ref

from ..conftest import ROOT
from .build import build, plan_of
from .readback import is_empty, state

EDGE = ROOT / "tests" / "aws" / "edges" / "alb.edge"
# the same edge changed: a route and an upstream gone, servers changed, every rate limit and the
# allow list dropped, the deny list changed
CHANGES = [('  route legacy {\n    match path exact "/old"\n    redirect 301 "https://new.example.com/new"\n  }\n', ""),
           ("forward orders 90, orders_v2 10", "forward orders"),
           ('users = ["10.0.1.10:8080", "10.0.1.11:8080"]', 'users = ["10.0.1.12:8080"]'),
           ('    rate_limit 20/min by header "X-Api-Client"\n', ""),
           ("    rate_limit 100/min by client_ip\n", ""),
           ('  allow "0.0.0.0/0" "2001:db8::/32"\n', ""),
           ('deny "203.0.113.0/24" "2001:db8:bad::/48"', 'deny "203.0.113.0/25"')]


def write(files: dict[str, str], folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def changed_source() -> str:
    text = EDGE.read_text()
    for old, new in CHANGES:
        assert old in text, old
        text = text.replace(old, new)
    return text


def logging_cli(aws, folder: Path) -> Callable[[Path], subprocess.CompletedProcess]:
    """A runner of a script whose every `aws` call is written down (its `calls`, one line of
    arguments each) before the real CLI makes it."""
    log = folder / "calls.log"
    real = shutil.which("aws", path=aws.environ["PATH"])
    shim = folder / "bin" / "aws"
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {shlex.quote(str(log))}\n'
                    f'exec {shlex.quote(real)} "$@"\n')
    shim.chmod(0o755)

    def run(script: Path) -> subprocess.CompletedProcess:
        log.write_text("")
        done = aws.run(script, {"PATH": f"{shim.parent}{os.pathsep}{aws.environ['PATH']}"})
        done.calls = log.read_text().splitlines()
        return done
    return run


@pytest.fixture(scope="module")
def lifecycle(aws, tmp_path_factory):
    base = tmp_path_factory.mktemp("alb")
    first_dir = write(build(EDGE, "prod")[1], base / "first")
    changed = changed_source()
    changed_dir = write(build(EDGE, "prod", source=changed)[1], base / "changed")
    plan, changed_plan = plan_of(EDGE, "prod"), plan_of(EDGE, "prod", source=changed)
    runs = SimpleNamespace(plan=plan, changed_plan=changed_plan, aws=aws)
    run = logging_cli(aws, base)
    runs.deploy = run(first_dir / "deploy.sh")
    runs.first = state(aws, plan)
    runs.redeploy = run(first_dir / "deploy.sh")
    runs.second = state(aws, plan)
    runs.change = run(changed_dir / "deploy.sh")
    runs.changed = state(aws, changed_plan)
    runs.destroy = run(changed_dir / "destroy.sh")
    runs.destroyed = state(aws, plan)
    runs.destroy_again = run(changed_dir / "destroy.sh")
    runs.destroyed_again = state(aws, plan)
    return runs


def subset(expected, actual, where="") -> list[str]:
    """Where `actual` differs from `expected` in what `expected` says (AWS adds defaults)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {actual!r} is not an object"]
        return [p for k, v in expected.items()
                for p in (subset(v, actual[k], f"{where}.{k}") if k in actual else [f"{where}.{k}: missing"])]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {actual!r} is not {expected!r}"]
        return [p for i, (e, a) in enumerate(zip(expected, actual)) for p in subset(e, a, f"{where}[{i}]")]
    return [] if expected == actual else [f"{where}: {actual!r} is not {expected!r}"]


def resolved(value, arns: dict[str, str]):
    """Plan parameters with the run-time values the script filled in."""
    if isinstance(value, Ref):
        return arns[value.var]
    if isinstance(value, dict):
        return {k: resolved(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, arns) for v in value]
    return value


def ir():
    return analyse(EDGE.read_text(), str(EDGE), env="prod").edge


def test_the_first_run_builds_what_the_ir_says(lifecycle, aws):
    edge, plan, got = ir(), lifecycle.plan, lifecycle.first
    [lb] = got["load_balancers"]
    assert lb["tags"] == {"edgec:edge": edge.name, "edgec:env": edge.env}
    assert lb["subnets"] == sorted(aws.environ["EDGE_AWS_SUBNETS"].split())
    assert lb["security_groups"] == [aws.environ["EDGE_AWS_SECURITY_GROUPS"]]
    arns = {"lb": lb["arn"]}
    for tg_plan in plan.target_groups:
        [tg] = got["target_groups"][tg_plan.name]
        arns[tg_plan.var] = tg["arn"]
        up = edge.upstream(tg_plan.upstream)
        assert tg["targets"] == sorted(s.address for s in up.servers)
        assert tg["tags"]["edgec:upstream"] == up.name
        if up.health:
            assert (tg["health"]["HealthCheckPath"], tg["health"]["HealthCheckIntervalSeconds"] * 1000,
                    tg["health"]["HealthCheckTimeoutSeconds"] * 1000, tg["health"]["HealthyThresholdCount"],
                    tg["health"]["UnhealthyThresholdCount"], tg["health"]["Matcher"]["HttpCode"]) == (
                up.health.path, up.health.interval_ms, up.health.timeout_ms, up.health.healthy_threshold,
                up.health.unhealthy_threshold, "%d-%d" % up.health.expect_status)
        assert tg["attributes"]["stickiness.enabled"] == ("true" if up.sticky else "false")
        if up.sticky:
            assert int(tg["attributes"]["stickiness.lb_cookie.duration_seconds"]) * 1000 == up.sticky.ttl_ms
        assert tg["attributes"]["load_balancing.algorithm.type"] == {
            "round_robin": "round_robin", "least_conn": "least_outstanding_requests"}[up.balance]
    for lst in edge.listeners:
        [got_lst] = got["listeners"][lst.port]
        assert got_lst["protocol"] == lst.protocol.upper()
        if lst.redirect:
            [action] = got_lst["default_actions"]
            assert action["RedirectConfig"]["Port"] == str(lst.redirect.port)
            assert action["RedirectConfig"]["Protocol"] == "HTTPS"
            assert got_lst["rules"] == []
        if lst.protocol == "https":
            assert got_lst["certificates"] == [aws.environ["EDGE_AWS_CERTIFICATE"]]
            assert got_lst["ssl_policy"].startswith("ELBSecurityPolicy-TLS13-")
        assert got_lst["attributes"].get("routing.http.response.strict_transport_security.header_value") == (
            lst.hsts.header_value if lst.hsts else None)
    for lst_plan in plan.listeners:
        [got_lst] = got["listeners"][lst_plan.port]
        arns[lst_plan.var] = got_lst["arn"]
        assert [(r["priority"], r["route"]) for r in got_lst["rules"]] == [
            (str(r.priority), r.route) for r in lst_plan.rules]
        for r_plan, r_got in zip(lst_plan.rules, got_lst["rules"]):
            assert subset(resolved(r_plan.create.params["Conditions"], arns), r_got["conditions"]) == []
            assert subset(resolved(r_plan.create.params["Actions"], arns), r_got["actions"]) == []
    limited = [r for r in edge.routes if r.rate_limit]
    acl = got["association"]
    assert acl["Name"] == plan.waf_name
    assert [(w["Name"], w["Statement"]["RateBasedStatement"]["Limit"],
             w["Statement"]["RateBasedStatement"]["EvaluationWindowSec"],
             w["Action"]["Block"]["CustomResponse"]["ResponseCode"],
             w["Action"]["Block"]["CustomResponse"]["ResponseHeaders"]) for w in acl["Rules"][2:]] == [
        (f"rate-{r.name}", r.rate_limit.count * 60 // r.rate_limit.window_s, 60, 429,
         [{"Name": "Retry-After", "Value": str(r.rate_limit.retry_after_s)},
          {"Name": "RateLimit-Policy", "Value": f'"{r.name}";q={r.rate_limit.count};w={r.rate_limit.window_s}'},
          {"Name": "RateLimit", "Value": f'"{r.name}";r=0;t={r.rate_limit.retry_after_s}'}]) for r in limited]
    arns.update({f"{s.var}_arn": got["ip_sets"][s.name]["arn"] for s in plan.ip_sets})
    assert subset(resolved(plan.waf.create.params["Rules"], arns), acl["Rules"]) == []
    assert {n: (s["version"], s["addresses"], s["tags"]) for n, s in got["ip_sets"].items()} == {
        "edgec-alb-prod-deny-v4": ("IPV4", ["203.0.113.0/24"], lb["tags"]),
        "edgec-alb-prod-deny-v6": ("IPV6", ["2001:db8:bad::/48"], lb["tags"]),
        "edgec-alb-prod-allow-v4": ("IPV4", ["0.0.0.0/1", "128.0.0.0/1"], lb["tags"]),
        "edgec-alb-prod-allow-v6": ("IPV6", ["2001:db8::/32"], lb["tags"])}
    refused = [(w["Name"], w["Action"]["Block"]["CustomResponse"]["ResponseCode"]) for w in acl["Rules"][:2]]
    assert refused == [("deny-clients", 403), ("allow-clients", 403)]
    assert "NotStatement" in acl["Rules"][1]["Statement"]


def test_a_second_run_changes_nothing(lifecycle):
    assert lifecycle.redeploy.returncode == 0
    assert lifecycle.second == lifecycle.first


def test_a_changed_edge_converges_in_place(lifecycle):
    before, after, plan = lifecycle.first, lifecycle.changed, lifecycle.changed_plan
    assert [lb["arn"] for lb in after["load_balancers"]] == [lb["arn"] for lb in before["load_balancers"]]
    kept = {t.name for t in plan.target_groups}
    assert {n: [t["arn"] for t in tgs] for n, tgs in after["target_groups"].items()} == \
        {n: [t["arn"] for t in tgs] for n, tgs in before["target_groups"].items() if n in kept}
    gone = [t.name for t in lifecycle.plan.target_groups if t.name not in kept]
    assert gone and not [t for t in lifecycle.aws.client("elbv2").describe_target_groups()["TargetGroups"]
                         if t["TargetGroupName"] in gone]
    [users] = after["target_groups"][next(t.name for t in plan.target_groups if t.upstream == "users")]
    assert users["targets"] == ["10.0.1.12:8080"]
    [https] = after["listeners"][443]
    assert [r["route"] for r in https["rules"]] == [r.route for r in plan.listeners[1].rules]
    assert "legacy" not in [r["route"] for r in https["rules"]]
    [orders] = after["target_groups"][next(t.name for t in plan.target_groups if t.upstream == "orders")]
    assert {r["actions"][0]["TargetGroupArn"] for r in https["rules"]
            if r["route"] == "orders" and r["actions"][0]["Type"] == "forward"} == {orders["arn"]}
    # the changed deny list updated in place; the allow list and the deny list's IPv6 set gone
    assert {n: s["addresses"] for n, s in after["ip_sets"].items()} == {"edgec-alb-prod-deny-v4": ["203.0.113.0/25"]}
    assert after["ip_sets"]["edgec-alb-prod-deny-v4"]["arn"] == before["ip_sets"]["edgec-alb-prod-deny-v4"]["arn"]
    [acl] = [after["association"]]
    assert [(w["Name"], w["Statement"]) for w in acl["Rules"]] == [
        ("deny-clients", {"IPSetReferenceStatement": {"ARN": after["ip_sets"]["edgec-alb-prod-deny-v4"]["arn"]}})]


def test_an_edge_without_lists_or_rate_limits_has_no_web_acl(aws, tmp_path):
    source = changed_source().replace('  deny "203.0.113.0/25"\n', "")
    folder = write(build(EDGE, "prod", source=source)[1], tmp_path / "plain")
    plan = plan_of(EDGE, "prod", source=source)
    try:
        aws.run(folder / "deploy.sh")
        after = state(aws, plan)
        assert after["association"] is None and after["web_acls"] == [] and after["ip_sets"] == {}
    finally:
        aws.run(folder / "destroy.sh")


def test_destroy_leaves_nothing_and_can_run_again(lifecycle):
    assert is_empty(lifecycle.destroyed), lifecycle.destroyed
    assert lifecycle.destroy_again.returncode == 0
    assert is_empty(lifecycle.destroyed_again)


def test_each_run_lists_the_ip_sets_once(lifecycle):
    """One listing serves every WAF IP set a run creates, updates or deletes (the edge may own four)."""
    for name in ("deploy", "redeploy", "change", "destroy", "destroy_again"):
        calls = getattr(lifecycle, name).calls
        assert sum(" wafv2 list-ip-sets " in f" {c} " for c in calls) == 1, (name, calls)


def test_progress_lines_say_what_happens(lifecycle):
    assert "creating" in lifecycle.deploy.stderr
    assert "exists; converging" in lifecycle.redeploy.stderr
    assert "deleting rule" in lifecycle.change.stderr
    assert "deleting target group" in lifecycle.change.stderr
    assert "deleting IP set edgec-alb-prod-allow-v4: the edge no longer has that list" in lifecycle.change.stderr
    assert "exists; replacing its addresses" in lifecycle.change.stderr
    assert "deleting IP set edgec-alb-prod-deny-v4: the edge is destroyed" in lifecycle.destroy.stderr
    assert "deleting load balancer" in lifecycle.destroy.stderr


def test_missing_inputs_are_each_named(tmp_path):
    folder = write(build(EDGE, "prod")[1], tmp_path)
    done = subprocess.run(["bash", str(folder / "deploy.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    # one heading, then one whole line per input (printf once reused its format for the extras)
    assert lines[0] == "deploy.sh: missing input:"
    assert [line.split()[0] for line in lines[1:]] == [
        "EDGE_AWS_VPC", "EDGE_AWS_SUBNETS", "EDGE_AWS_SECURITY_GROUPS", "EDGE_AWS_CERTIFICATE"]
    assert all(line.startswith("  ") and ": " in line for line in lines[1:])
    assert "EDGE_AWS_REGION" not in done.stderr  # the region is in the file


def test_destroy_names_a_missing_region_on_its_own_line(tmp_path):
    plain = 'edge "p" { listen http 80 upstream a { server "10.0.0.1:80" } route r { forward a } }'
    folder = write(build(tmp_path / "p.edge", None, plain)[1], tmp_path)
    done = subprocess.run(["bash", str(folder / "destroy.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.splitlines()[:2] == [
        "destroy.sh: missing input:",
        "  EDGE_AWS_REGION (or region in target aws { } in the .edge file): the AWS region, e.g. eu-west-1"]


def test_inputs_from_the_environment_are_checked(tmp_path):
    folder = write(build(EDGE, "prod")[1], tmp_path)
    done = subprocess.run(["bash", str(folder / "deploy.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "EDGE_AWS_VPC": "vpc-1; touch x", "EDGE_AWS_SUBNETS": "s"})
    assert done.returncode == 2
    assert "EDGE_AWS_VPC: 'vpc-1;' is not the VPC" in done.stderr
    assert not (tmp_path / "x").exists()


CLIENTS = ["192.0.2.1", "203.0.113.9", "198.51.100.7", "10.1.2.3", "2001:db8:1::5", "2001:db8:2::5",
           "2001:db8:bad::1", "2001:db9::1"]
REQUESTS = [("GET", "https://api.example.com/api/v1/users/1", ()), ("GET", "https://x.example.com/orders/9", ()),
            ("GET", "https://api.example.com/admin/a", (("X-Admin", "1"),)),
            ("GET", "https://api.example.com/status", ()), ("GET", "https://api.example.com/nowhere", ())]


def test_clients_are_refused_as_the_edge_and_route_lists_say(lifecycle):
    """The read-back web ACL and IP sets, then the listener's rules, answer each client as decide
    and the lists do: 403 before anything else for a client the edge's lists refuse, 403 at the
    route for one its own lists refuse."""
    from edgec import routing
    from .alb import evaluate, waf_refusal
    edge, got = ir(), lifecycle.first
    ip_sets = {s["arn"]: s["addresses"] for s in got["ip_sets"].values()}
    [https] = got["listeners"][443]
    upstream_of = {tg["arn"]: p.upstream for p in lifecycle.plan.target_groups for tg in got["target_groups"][p.name]}
    checked = set()
    for method, url, headers in REQUESTS:
        req = routing.Request.from_url(method, url, headers)
        decision = routing.decide(edge, req)
        route = edge.route(decision.route) if decision.route else None
        for client in CLIENTS:
            refused = not routing.address_allowed(edge.access, client) or (
                route is not None and not routing.address_allowed(route.access, client))
            status = waf_refusal(got["association"], ip_sets, client)
            if status is None:
                status = evaluate(https, upstream_of, {}, req, 443, client).status
            assert status == (403 if refused else decision.status or 200), (url, client)
            checked.add((refused, route is not None and not route.access.empty))
    assert checked == {(False, False), (True, False), (False, True), (True, True)}

