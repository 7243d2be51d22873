"""Header operations as Envoy header-value options.

Envoy reads `%...%` in a header value as a command (`%DOWNSTREAM_REMOTE_ADDRESS%`), so a
value from the source has every `%` doubled: it arrives as written.
"""
from __future__ import annotations

from edgec import ir

Plan = dict


def literal(value: str) -> str:
    return value.replace("%", "%%")


def option(name: str, value: str, append: bool = False) -> Plan:
    """`value` is Envoy header text (commands allowed): pass source text through literal()."""
    return {"header": {"key": name, "value": value},
            "append_action": "APPEND_IF_EXISTS_OR_ADD" if append else "OVERWRITE_IF_EXISTS_OR_ADD",
            "keep_empty_value": True}


def to_add(ops: ir.HeaderOps) -> list[Plan]:
    return ([option(n, literal(v)) for n, v in ops.set]
            + [option(n, literal(v), append=True) for n, v in ops.add])


def header_ops(route: ir.Route) -> Plan:
    out: Plan = {}
    req, resp = route.request_headers, route.response_headers
    if req.set or req.add:
        out["request_headers_to_add"] = to_add(req)
    if req.remove:
        out["request_headers_to_remove"] = list(req.remove)
    if resp.set or resp.add:
        out["response_headers_to_add"] = to_add(resp)
    if resp.remove:
        out["response_headers_to_remove"] = list(resp.remove)
    return out
