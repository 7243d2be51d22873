"""Route actions and filters → ALB rule actions and transforms, for one rule's path pieces."""
from __future__ import annotations

import re

from edgec import ir
from edgec.routing import prefix_matches, replace_prefix, rewritten_prefix, strip_slash

from .calls import Ref
from .conditions import PathPiece
from .errors import CANNOT, QUOTA, PlanError

MAX_FORWARD_GROUPS = 5
MAX_WEIGHT = 999
CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
MAX_BODY = 1024
HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,126}[A-Za-z0-9])?$")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".$+*?()[]{}|^\\" else c for c in text)


def _hostname(host: str, what: str, span) -> str:
    if not HOSTNAME.match(host):
        raise PlanError(CANNOT, f"{what} {host!r} is not a host name ALB can send", span,
                        hint="letters, digits, '-' and '.', at most 128 characters")
    return host


def _no_dollar(text: str, what: str, span) -> str:
    if "$" in text:
        raise PlanError(CANNOT, f"{what} {text!r} holds '$', which ALB reads as a capture group", span)
    return text


def _under(piece: PathPiece, prefix: str) -> bool:
    if piece.kind == "any":
        return strip_slash(prefix) == ""
    return prefix_matches(prefix, piece.value)


def url_rewrite(rewrite: ir.PathRewrite, piece: PathPiece, span) -> dict:
    """The url-rewrite transform that gives, for every path this piece matches, the path
    routing.decide forwards."""
    replacement = _no_dollar(rewrite.replacement, "the rewritten path", span)
    if rewrite.type == "full":
        regex, replace = "^.*$", replacement
    elif not _under(piece, rewrite.match or "/"):
        raise PlanError(CANNOT, f"the rewritten prefix {rewrite.match!r} is not a prefix of the route's path", span)
    elif piece.kind == "exact":
        regex, replace = "^.*$", replace_prefix(piece.value, rewrite.match or "/", replacement)
    else:
        base = strip_slash(rewrite.match or "/")
        regex, replace = f"^{_regex_escape(base)}(/.*)$", strip_slash(replacement) + "$1"
    return {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": regex, "Replace": replace}]}}


def host_rewrite(host: str, span) -> dict:
    return {"Type": "host-header-rewrite",
            "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "^.*$",
                                                      "Replace": _hostname(host, "the rewritten host", span)}]}}


def forward(action: ir.Forward, groups: dict[str, Ref], span) -> dict:
    if len(action.backends) == 1:
        return {"Type": "forward", "TargetGroupArn": groups[action.backends[0].upstream]}
    if len(action.backends) > MAX_FORWARD_GROUPS:
        raise PlanError(QUOTA, f"ALB forwards to at most {MAX_FORWARD_GROUPS} target groups per rule, "
                               f"not {len(action.backends)}", span)
    for b in action.backends:
        if not 0 <= b.weight <= MAX_WEIGHT:
            raise PlanError(QUOTA, f"ALB forward weights are 0-{MAX_WEIGHT}, not {b.weight}", span)
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": groups[b.upstream], "Weight": b.weight} for b in action.backends]}}


def redirect(action: ir.Redirect, match: ir.Match, piece: PathPiece, https_listener: bool, span) -> dict:
    if action.status not in (301, 302):
        raise PlanError(CANNOT, f"ALB redirects with 301 or 302 only, not {action.status}", span)
    if https_listener and action.scheme == "http":
        raise PlanError(CANNOT, "ALB cannot redirect from HTTPS to HTTP", span)
    if action.host:
        _hostname(action.host, "the redirect host", span)
    given = [t for t in (action.host, action.path.replacement if action.path else None) if t]
    if any("#{" in t for t in given):
        raise PlanError(CANNOT, "'#{' in a redirect would be read by ALB as a keyword", span)
    if action.path is None:
        path = "/#{path}"
    elif action.path.type == "full":
        path = action.path.replacement
    elif piece.kind == "exact" and (prefix := rewritten_prefix(action.path, match)) is not None \
            and _under(piece, prefix):
        # the prefix replaced is the redirect's own, else the path the match compares (as decide does)
        path = replace_prefix(piece.value, prefix, action.path.replacement)
    else:
        raise PlanError(CANNOT, "ALB cannot replace a path prefix in a redirect of a prefix route "
                                "(its redirect path is either fixed or the whole request path)", span,
                        hint="redirect to a fixed path, or match exact paths")
    scheme = {"http": "HTTP", "https": "HTTPS", None: "#{protocol}"}[action.scheme]
    if action.port is not None:
        port = str(action.port)
    else:
        port = {"http": "80", "https": "443", None: "#{port}"}[action.scheme]
    return {"Type": "redirect", "RedirectConfig": {
        "Protocol": scheme, "Port": port, "Host": action.host or "#{host}", "Path": path,
        "Query": "#{query}", "StatusCode": f"HTTP_{action.status}"}}


def respond(action: ir.Respond, span) -> dict:
    content_type = action.content_type.split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise PlanError(CANNOT, f"an ALB fixed response has no content type {action.content_type!r}", span,
                        hint="use one of " + ", ".join(CONTENT_TYPES))
    if not str(action.status)[0] in "245":
        raise PlanError(CANNOT, f"an ALB fixed response has status 2xx, 4xx or 5xx, not {action.status}", span)
    if len(action.body.encode()) > MAX_BODY:
        raise PlanError(QUOTA, f"an ALB fixed response body is at most {MAX_BODY} bytes", span)
    config = {"StatusCode": str(action.status), "ContentType": content_type}
    if action.body:
        config["MessageBody"] = action.body
    return {"Type": "fixed-response", "FixedResponseConfig": config}


def jwt_validation(auth: ir.Auth, span) -> dict:
    if not isinstance(auth, ir.JwtAuth):
        raise PlanError(CANNOT, f"ALB cannot check {auth.kind} authentication", span)
    if auth.secret is not None or not auth.jwks_url or not auth.issuer:
        raise PlanError(CANNOT, "ALB validates JWTs only against an issuer and a JWKS URL", span,
                        hint="give `issuer` and `jwks`, not a shared secret")
    if set(auth.algorithms) != {"RS256"}:
        raise PlanError(CANNOT, "ALB validates RS256 tokens only", span, hint="algorithms RS256")
    if auth.header.lower() != "authorization":
        raise PlanError(CANNOT, "ALB reads the token from the Authorization header only", span)
    config = {"JwksEndpoint": auth.jwks_url, "Issuer": auth.issuer}
    if auth.audiences:
        config["AdditionalClaims"] = [{"Format": "single-string", "Name": "aud", "Values": list(auth.audiences)}]
    return {"Type": "jwt-validation", "JwtValidationConfig": config}
