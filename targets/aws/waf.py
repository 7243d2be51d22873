"""Route rate limits → rate-based rules of one WAFv2 web ACL associated with the ALB."""
from __future__ import annotations

import math

from edgec import ir

from .conditions import path_pieces
from .errors import CANNOT, QUOTA, PlanError
from .names import waf_name

WINDOWS = (60, 120, 300, 600)
MIN_LIMIT = 10
NO_TRANSFORM = [{"Priority": 0, "Type": "NONE"}]


def window(rate: ir.RateLimit, span) -> tuple[int, int]:
    """(Limit, EvaluationWindowSec): the same rate over a window WAF offers."""
    chosen = next((w for w in WINDOWS if w >= rate.window_s), WINDOWS[-1])
    limit = math.floor(rate.count * chosen / rate.window_s + 0.5)
    if limit < MIN_LIMIT:
        raise PlanError(QUOTA, f"a WAF rate limit is at least {MIN_LIMIT} requests per {chosen} s window; "
                               f"{rate.count} per {rate.window_s} s is {rate.count * chosen / rate.window_s:g}",
                        span, hint="raise the rate, or count it per longer window")
    return limit, chosen


def _byte_match(field: dict, text: str, position: str, lowercase: bool = False) -> dict:
    return {"ByteMatchStatement": {
        "SearchString": text, "FieldToMatch": field, "PositionalConstraint": position,
        "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}] if lowercase else NO_TRANSFORM}}


def _any(statements: list[dict]) -> dict | None:
    if not statements:
        return None
    return statements[0] if len(statements) == 1 else {"OrStatement": {"Statements": statements}}


def _all(statements: list[dict]) -> dict | None:
    if not statements:
        return None
    return statements[0] if len(statements) == 1 else {"AndStatement": {"Statements": statements}}


def _match_statement(match: ir.Match, span) -> dict | None:
    uri, host, method = {"UriPath": {}}, {"SingleHeader": {"Name": "host"}}, {"Method": {}}
    paths = []
    for piece in path_pieces(match.path, span):
        if piece.kind == "exact":
            paths.append(_byte_match(uri, piece.value, "EXACTLY"))
        elif piece.kind == "under":
            paths.append(_byte_match(uri, piece.value + "/", "STARTS_WITH"))
    hosts = [_byte_match(host, h[1:].lower(), "ENDS_WITH", True) if h.startswith("*.")
             else _byte_match(host, h.lower(), "EXACTLY", True) for h in match.hosts]
    methods = [_byte_match(method, m, "EXACTLY") for m in match.methods]
    return _all([s for s in (_any(paths), _any(hosts), _any(methods)) if s])


def rule(route: ir.Route, priority: int, forwarded: bool = False) -> dict:
    """`forwarded`: the load balancer sits behind API Gateway, so the client is the first
    X-Forwarded-For address, not the connection's."""
    rate = route.rate_limit
    limit, seconds = window(rate, route.span)
    statement: dict = {"Limit": limit, "EvaluationWindowSec": seconds}
    if rate.key.source == "client_ip" and forwarded:
        statement["AggregateKeyType"] = "FORWARDED_IP"
        statement["ForwardedIPConfig"] = {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"}
    elif rate.key.source == "client_ip":
        statement["AggregateKeyType"] = "IP"
    elif rate.key.source == "header":
        statement["AggregateKeyType"] = "CUSTOM_KEYS"
        statement["CustomKeys"] = [{"Header": {"Name": rate.key.name, "TextTransformations": NO_TRANSFORM}}]
    else:
        raise PlanError(CANNOT, f"WAF cannot count requests by {rate.key.source}", route.span)
    alternatives = [_match_statement(m, route.span) for m in route.matches]
    if all(alternatives):
        statement["ScopeDownStatement"] = _any(alternatives)
    if not 200 <= rate.status <= 599:
        raise PlanError(CANNOT, f"WAF answers a limited request with 200-599, not {rate.status}", route.span)
    name = waf_name("rate", route.name)
    return {"Name": name, "Priority": priority, "Statement": {"RateBasedStatement": statement},
            "Action": {"Block": {"CustomResponse": {"ResponseCode": rate.status, "ResponseHeaders": [
                {"Name": n, "Value": v} for n, v in rate.refusal_headers(route.name)]}}},
            "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                 "MetricName": name}}
