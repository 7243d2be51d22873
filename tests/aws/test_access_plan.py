"""The edge's client address lists as WAF IP sets and web ACL rules: which sets, which
addresses, which rules, whose address WAF reads; a route's own list refused at the route."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgec.pipeline import analyse
from edgec.diagnostics import Sink
from edgec.targets.aws import plan as planner
from edgec.targets.aws.errors import PlanError
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


def rule_list(p) -> list[tuple]:
    return [(r.route, [c.get("SourceIpConfig", {}).get("Values") for c in r.create.params["Conditions"]
                       if c["Field"] == "source-ip"], r.create.params["Actions"][-1]["Type"],
             r.create.params["Actions"][-1].get("FixedResponseConfig", {}).get("StatusCode"))
            for lst in p.listeners for r in lst.rules]


def test_a_route_list_is_deny_rules_before_it_and_a_refusal_after_its_allowed_sources():
    p = plan(edge('route r {\n    match path prefix "/r" method GET POST\n'
                  '    allow "10.0.0.0/8" "10.1.0.0/16" "10.2.0.0/16" "2001:db8::/32"\n'
                  '    deny "10.9.0.0/16"\n    forward a\n  }\n'
                  '  route open { forward a }'))
    # path (2 values) and methods (2) leave room for one network per rule within ALB's five evaluations
    assert rule_list(p) == [
        ("r", [["10.9.0.0/16"]], "fixed-response", "403"),
        ("r", [["10.0.0.0/8"]], "forward", None), ("r", [["10.1.0.0/16"]], "forward", None),
        ("r", [["10.2.0.0/16"]], "forward", None), ("r", [["2001:db8::/32"]], "forward", None),
        ("r", [], "fixed-response", "403"),
        ("open", [], "forward", None)]
    assert [c for lst in p.listeners for r in lst.rules for c in (r.create, r.modify) if problems(c)] == []
    assert p.waf is None  # route lists need no web ACL


def test_a_route_list_with_no_room_left_is_refused_naming_the_quota():
    source = edge('route r {\n    match path exact "/a" method GET POST header "X-A" present header "X-B" present\n'
                  '    deny "10.0.0.0/8"\n    forward a\n  }')
    diagnostics, files = build(HERE, "prod", source=source)
    assert not files
    [err] = errors(diagnostics)
    assert err["code"] == "E411" and "source-ip" in err["message"] and err["line"] == 6


def test_behind_api_gateway_a_route_list_is_refused_at_the_route():
    with pytest.raises(PlanError) as refused:
        plan(edge('route r {\n    allow "10.0.0.0/8"\n    forward a\n  }'), gateway=True)
    assert refused.value.code == "E410" and "route 'r' has its own allow or deny list" in refused.value.message
    assert refused.value.span.line == 5
