"""The edge's client address lists → WAFv2 IP sets (one per list and address family) and
the web ACL rules that answer 403 to a denied client, and to one outside the allow list."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from edgec import ir

from .calls import Call, Origin, Ref
from .errors import QUOTA, PlanError
from .names import waf_name

FAMILIES = (("v4", "IPV4"), ("v6", "IPV6"))
LISTS = ("deny", "allow")  # deny first: it wins whatever the allow list says
MAX_ADDRESSES = 10_000  # per IP set (AWS WAF quota)
# WAF takes every prefix length but /0: the whole family is its two halves
WHOLE = {"v4": ("0.0.0.0/1", "128.0.0.0/1"), "v6": ("::/1", "8000::/1")}
SET_ID = "89abcdef-0123-4567-89ab-cdef01234567"


def _dummy_arn(name: str) -> str:
    return f"arn:aws:wafv2:us-east-1:123456789012:regional/ipset/{name}/{SET_ID}"


@dataclass
class IpSet:
    name: str
    var: str  # the script's prefix for this set's id, lock token and ARN
    create: Call
    update: Call

    @property
    def arn(self) -> Ref:
        return Ref(f"{self.var}_arn", _dummy_arn(self.name))


def set_name(edge: str, env: str, verb: str, family: str) -> str:
    return waf_name("edgec", edge, env, verb, family)


def every_name(edge: str, env: str) -> list[str]:
    """Every IP set an edge may own, planned or not: deploy deletes the stale ones, destroy all."""
    return [set_name(edge, env, verb, family) for verb in LISTS for family, _ in FAMILIES]


def _addresses(networks: tuple[str, ...], family: str) -> list[str]:
    version = 4 if family == "v4" else 6
    out: list[str] = []
    for text in networks:
        net = ipaddress.ip_network(text, strict=False)
        if net.version == version:
            out += WHOLE[family] if net.prefixlen == 0 else [net.with_prefixlen]
    return out


def build(edge: ir.Edge, env: str, tags: list[dict]) -> list[IpSet]:
    out = []
    for verb in LISTS:
        networks = getattr(edge.access, verb)
        for family, version in FAMILIES:
            addresses = _addresses(networks, family)
            if not addresses:
                continue
            if len(addresses) > MAX_ADDRESSES:
                raise PlanError(QUOTA, f"a WAF IP set holds at most {MAX_ADDRESSES} addresses; the edge's {verb} "
                                       f"list has {len(addresses)} {version} networks", None,
                                hint="merge neighbouring networks into wider ones")
            name = set_name(edge.name, env, verb, family)
            var = f"ipset_{verb}_{family}"
            origin = Origin(f"the WAF IP set of the edge's {verb} list ({version})")
            body = {"Name": name, "Scope": "REGIONAL"}
            out.append(IpSet(
                name, var,
                Call("wafv2", "CreateIPSet", {**body, "IPAddressVersion": version, "Addresses": addresses,
                                              "Tags": tags}, origin, query="Summary.ARN"),
                Call("wafv2", "UpdateIPSet", {**body, "Id": Ref(f"{var}_id", SET_ID),
                                              "Addresses": addresses,
                                              "LockToken": Ref(f"{var}_lock", SET_ID)}, origin)))
    return out


def rules(sets: list[IpSet], forwarded: bool) -> list[dict]:
    """The web ACL rules, priorities from 0. `forwarded`: the load balancer sits behind API
    Gateway, so the client is the X-Forwarded-For address API Gateway appended (the last),
    not the connection's; a request without the header is in no list."""
    out = []
    for verb in LISTS:
        refs = []
        for s in sets:
            if s.var.startswith(f"ipset_{verb}_"):
                statement: dict = {"ARN": s.arn}
                if forwarded:
                    statement["IPSetForwardedIPConfig"] = {"HeaderName": "X-Forwarded-For",
                                                           "FallbackBehavior": "NO_MATCH", "Position": "LAST"}
                refs.append({"IPSetReferenceStatement": statement})
        if not refs:
            continue
        listed = refs[0] if len(refs) == 1 else {"OrStatement": {"Statements": refs}}
        name = f"{verb}-clients"
        out.append({"Name": name, "Priority": len(out),
                    "Statement": listed if verb == "deny" else {"NotStatement": {"Statement": listed}},
                    "Action": {"Block": {"CustomResponse": {"ResponseCode": 403}}},
                    "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                         "MetricName": name}})
    return out
