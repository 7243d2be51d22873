"""The edge's client address lists as WAF IP sets and web ACL rules: which sets, which
addresses, which rules, whose address WAF reads; a route's own list refused at the route."""
from __future__ import annotations

from pathlib import Path

from edgec.pipeline import analyse
from edgec.diagnostics import Sink
from edgec.targets.aws import plan as planner
from edgec.targets.aws.settings import file_values
from edgec.targets.aws.validate import problems

from .build import build, errors
from .test_plan import edge

HERE = Path("access.edge")
ROUTE = "route r { forward a }"


def plan(source: str, gateway: bool = False):
    result = analyse(source, str(HERE), env="prod")
    return planner.build(result.edge, file_values(result.edge, Sink(str(HERE))), gateway)


def test_each_list_and_family_is_one_ip_set_and_slash_zero_is_its_two_halves():
    p = plan(edge(f'deny "203.0.113.7" "2001:db8::/32"\n allow "0.0.0.0/0"\n{ROUTE}'))
    assert [(s.name, s.create.params["IPAddressVersion"], s.create.params["Addresses"]) for s in p.ip_sets] == [
        ("edgec-q-prod-deny-v4", "IPV4", ["203.0.113.7/32"]),
        ("edgec-q-prod-deny-v6", "IPV6", ["2001:db8::/32"]),
        ("edgec-q-prod-allow-v4", "IPV4", ["0.0.0.0/1", "128.0.0.0/1"])]
    assert p.stale_ip_set_names == ["edgec-q-prod-allow-v6"]
    assert [c for s in p.ip_sets for c in (s.create, s.update) if problems(c)] == []
    deny, allow = p.waf.create.params["Rules"]
    assert deny["Name"] == "deny-clients" and [s["IPSetReferenceStatement"]["ARN"].var for s in
                                               deny["Statement"]["OrStatement"]["Statements"]] == [
        "ipset_deny_v4_arn", "ipset_deny_v6_arn"]
    # an IPv6 client is outside an allow list of IPv4 networks only: blocked
    assert allow["Statement"] == {"NotStatement": {"Statement": {"IPSetReferenceStatement": {
        "ARN": p.ip_sets[2].arn}}}}
    assert deny["Action"] == allow["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 403}}}


def test_access_rules_come_before_the_rate_rules():
    p = plan(edge(f'deny "203.0.113.0/24"\nroute r {{ rate_limit 100/min by client_ip forward a }}'))
    assert [(r["Name"], r["Priority"]) for r in p.waf.create.params["Rules"]] == [
        ("deny-clients", 0), ("rate-r", 1)]
    assert problems(p.waf.create) == [] and problems(p.waf.update) == []


def test_behind_api_gateway_waf_reads_the_address_api_gateway_appended():
    p = plan(edge(f'deny "203.0.113.0/24"\n{ROUTE}'), gateway=True)
    [rule] = p.waf.create.params["Rules"]
    assert rule["Statement"]["IPSetReferenceStatement"]["IPSetForwardedIPConfig"] == {
        "HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH", "Position": "LAST"}
    assert problems(p.waf.create) == []


def test_without_lists_every_set_the_edge_may_own_is_stale():
    p = plan(edge(ROUTE))
    assert p.ip_sets == [] and p.waf is None and len(p.stale_ip_set_names) == 4


def test_a_route_list_is_refused_at_the_route():
    source = edge('route r {\n    allow "10.0.0.0/8"\n    forward a\n  }')
    diagnostics, files = build(HERE, "prod", source=source)
    assert not files
    [err] = errors(diagnostics)
    assert err["code"] == "E410" and "route 'r' has its own allow or deny list" in err["message"]
    assert err["line"] == 5
