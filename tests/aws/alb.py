"""A small model of how an ALB answers a request, from the rules read back from AWS:
rules in priority order, first match wins, the listener's default action otherwise.
Condition semantics as the ALB documentation gives them: path patterns compare the path
(not the query) case-sensitively; host, header and query values case-insensitively;
methods exactly; `*` is any run of characters and `?` one character; in query strings a
backslash escapes them; source-ip holds for a client inside one of its networks. Transforms
come from the plan: the emulator drops them. The web ACL in front is modelled for its IP set
rules (a rate rule never blocks one request)."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote

from edgec.routing import DEFAULT_PORTS, Request, host_of


def wildcard(pattern: str, text: str, case_sensitive: bool, escapes: bool = False) -> bool:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if escapes and c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch("".join(out), text, flags) is not None


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _inside(client: str, networks: list[str]) -> bool:
    ip = ipaddress.ip_address(client)
    return any(ip in ipaddress.ip_network(n) for n in networks)


def condition_holds(cond: dict, req: Request, client: str | None = None) -> bool:
    field = cond["Field"]
    if field == "source-ip":
        assert client is not None, "a source-ip condition needs the client's address"
        return _inside(client, cond["SourceIpConfig"]["Values"])
    if field == "path-pattern":
        return any(wildcard(v, req.path, True) for v in cond["PathPatternConfig"]["Values"])
    if field == "host-header":
        return any(wildcard(v, host_of(req.host), False) for v in cond["HostHeaderConfig"]["Values"])
    if field == "http-request-method":
        return req.method in cond["HttpRequestMethodConfig"]["Values"]
    if field == "http-header":
        config = cond["HttpHeaderConfig"]
        value = next((v for n, v in req.headers if n.lower() == config["HttpHeaderName"].lower()), None)
        return value is not None and any(wildcard(p, value, False) for p in config["Values"])
    if field == "query-string":
        pairs = _query_pairs(req.query)
        return any(any((kv.get("Key") is None or wildcard(kv["Key"], k, False, True))
                       and wildcard(kv["Value"], v, False, True) for k, v in pairs)
                   for kv in cond["QueryStringConfig"]["Values"])
    raise AssertionError(f"the model has no condition {field}")


@dataclass
class Outcome:
    route: str | None
    status: int
    shares: dict[str, float] | None = None  # upstream → share, for forwards
    path: str | None = None  # path + query the backend receives
    host: str | None = None
    location: str | None = None
    body: str | None = None


def _transform(transforms: list[dict], kind: str, text: str) -> str:
    for t in transforms:
        if t["Type"] == kind:
            config = t["UrlRewriteConfig" if kind == "url-rewrite" else "HostHeaderRewriteConfig"]
            for rw in config["Rewrites"]:
                if re.search(rw["Regex"], text):
                    return re.sub(rw["Regex"], rw["Replace"].replace("$", "\\"), text, count=1)
    return text


def _redirect(config: dict, req: Request, listener_port: int) -> tuple[int, str]:
    scheme = req.scheme if config["Protocol"] == "#{protocol}" else config["Protocol"].lower()
    port = listener_port if config["Port"] == "#{port}" else int(config["Port"])
    host = config["Host"].replace("#{host}", host_of(req.host))
    path = config["Path"].replace("#{path}", req.path.lstrip("/"))
    query = config["Query"].replace("#{query}", req.query)
    authority = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return int(config["StatusCode"][5:]), f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")


def _statement_holds(statement: dict, ip_sets: dict[str, list[str]], client: str) -> bool:
    if "IPSetReferenceStatement" in statement:
        return _inside(client, ip_sets[statement["IPSetReferenceStatement"]["ARN"]])
    if "OrStatement" in statement:
        return any(_statement_holds(s, ip_sets, client) for s in statement["OrStatement"]["Statements"])
    if "NotStatement" in statement:
        return not _statement_holds(statement["NotStatement"]["Statement"], ip_sets, client)
    assert "RateBasedStatement" in statement, statement
    return False


def waf_refusal(acl: dict | None, ip_sets: dict[str, list[str]], client: str) -> int | None:
    """The status the web ACL (as read back) blocks the client's request with, or None.
    ip_sets: IP set ARN → its addresses."""
    for rule in sorted(acl["Rules"] if acl else [], key=lambda r: r["Priority"]):
        if _statement_holds(rule["Statement"], ip_sets, client) and "Block" in rule["Action"]:
            return rule["Action"]["Block"]["CustomResponse"]["ResponseCode"]
    return None


def evaluate(listener: dict, upstream_of: dict[str, str], transforms: dict[int, list[dict]], req: Request,
             listener_port: int, client: str | None = None) -> Outcome:
    """`listener` as readback.state gives it; upstream_of: target group ARN → upstream;
    transforms: priority → the plan's transforms of that rule; client: the connection's address."""
    for rule in listener["rules"]:
        if all(condition_holds(c, req, client) for c in rule["conditions"]):
            return _act(rule["actions"], rule["route"], upstream_of, transforms.get(int(rule["priority"]), []),
                        req, listener_port)
    return _act(listener["default_actions"], None, upstream_of, [], req, listener_port)


def _act(actions: list[dict], route, upstream_of, transforms, req: Request, listener_port: int) -> Outcome:
    action = sorted(actions, key=lambda a: a.get("Order", 0))[-1]
    if action["Type"] == "forward":
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
        total = sum(g.get("Weight", 1) for g in groups)
        shares: dict[str, float] = {}
        for g in groups:
            if not g.get("Weight", 1):
                continue  # weight 0: the group gets no requests
            name = upstream_of[g["TargetGroupArn"]]
            shares[name] = shares.get(name, 0.0) + g.get("Weight", 1) / total
        path = _transform(transforms, "url-rewrite", req.path)
        host = _transform(transforms, "host-header-rewrite", req.host)
        return Outcome(route, 200, shares, path + (f"?{req.query}" if req.query else ""), host)
    if action["Type"] == "redirect":
        status, location = _redirect(action["RedirectConfig"], req, listener_port)
        return Outcome(route, status, location=location)
    config = action["FixedResponseConfig"]
    return Outcome(route, int(config["StatusCode"]), body=config.get("MessageBody", ""))
