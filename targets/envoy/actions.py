"""What an Envoy route does: forward (with rewrites, timeouts, retries, hashing and
mirrors), redirect, or answer itself."""
from __future__ import annotations

from edgec import ir, routing
from edgec.targets import envoy_regex as regex

from . import lua
from .headers import literal, option

Plan = dict

REDIRECT_CODES = {301: "MOVED_PERMANENTLY", 302: "FOUND", 303: "SEE_OTHER", 307: "TEMPORARY_REDIRECT",
                  308: "PERMANENT_REDIRECT"}


def seconds(ms: int) -> str:
    """A proto3 JSON duration."""
    return f"{ms // 1000}.{ms % 1000:03d}s" if ms % 1000 else f"{ms // 1000}s"


def action_fields(edge: ir.Edge, listener: ir.Listener, route: ir.Route, m: ir.Match) -> Plan:
    action = route.action
    if isinstance(action, ir.Forward):
        return {"route": forward(edge, route, m, action)}
    if isinstance(action, ir.Redirect):
        out = {"redirect": redirect(listener, route, m, action)}
        if action.host is None and "port_redirect" not in out["redirect"]:
            out["typed_per_filter_config"] = lua.per_route(lua.STRIP_PORT)
        return out
    if isinstance(action, ir.Respond):
        out: Plan = {"direct_response": {"status": action.status}}
        if action.body:
            out["direct_response"]["body"] = {"inline_string": action.body}
        out["response_headers_to_add"] = [option("content-type", literal(action.content_type))]
        return out
    raise AssertionError(f"the capability table refuses {action.type}")  # pragma: no cover


def forward(edge: ir.Edge, route: ir.Route, m: ir.Match, action: ir.Forward) -> Plan:
    backends = [b for b in action.backends if b.weight > 0]
    ups = [edge.upstream(b.upstream) for b in backends]
    out: Plan = {}
    if len(backends) == 1:
        out["cluster"] = backends[0].upstream
    else:
        out["weighted_clusters"] = {"clusters": [{"name": b.upstream, "weight": b.weight} for b in backends]}
    out.update(rewrite(route, m))
    out["timeout"] = seconds(route.timeouts.request_ms)
    # a send timeout has no Envoy form: the stream idle timeout bounds any silence
    out["idle_timeout"] = seconds(max(max(u.timeouts.read_ms, u.timeouts.send_ms) for u in ups))
    out["retry_policy"] = retry_policy(route, max(routing.attempt_timeout_ms(route.timeouts, u) for u in ups))
    hashes = hash_policies(ups)
    if hashes:
        out["hash_policy"] = hashes
    if route.mirrors:
        out["request_mirror_policies"] = [mirror(x) for x in route.mirrors]
    return out


def rewrite(route: ir.Route, m: ir.Match) -> Plan:
    out: Plan = {}
    rw = route.rewrite
    if rw.host:
        out["host_rewrite_literal"] = rw.host
    if rw.path is None:
        return out
    if rw.path.type == "full":
        out["regex_rewrite"] = {"pattern": {"regex": "^.*$"}, "substitution": substitution(rw.path.replacement)}
        return out
    prefix = routing.rewritten_prefix(rw.path, m)
    if prefix is not None:
        out["regex_rewrite"] = prefix_rewrite(prefix, routing.strip_slash(rw.path.replacement))
    return out


def prefix_rewrite(prefix: str, replacement: str) -> Plan:
    """Gateway API ReplacePrefixMatch (routing.replace_prefix) as one anchored regex rewrite:
    the decoded prefix (in any form Envoy's path shows it), when followed by "/" or the end,
    becomes the replacement."""
    head = regex.path_pattern(routing.strip_slash(prefix)) if routing.strip_slash(prefix) else ""
    if not replacement:
        # "/p/x" → "/x", "/p" → "/"
        return {"pattern": {"regex": f"^{head}/?"}, "substitution": "/"}
    return {"pattern": {"regex": f"^{head}(/|$)"}, "substitution": substitution(replacement) + "\\1"}


def substitution(text: str) -> str:
    """RE2 substitution text that inserts `text` literally (a backslash starts a group
    reference)."""
    return text.replace("\\", "\\\\")


def retry_policy(route: ir.Route, attempt_ms: int) -> Plan:
    """Retries, and the time one attempt waits for its answer (routing.attempt_timeout_ms)."""
    retry = route.retry
    out: Plan = {"num_retries": retry.attempts}
    if retry.attempts:
        on = ["retriable-status-codes"] if retry.statuses else []
        if retry.connect_errors:
            on += ["connect-failure", "reset"]
        out["retry_on"] = ",".join(on) or "connect-failure"
        if retry.statuses:
            out["retriable_status_codes"] = list(retry.statuses)
        out["retry_host_predicate"] = [{
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": {"@type": "type.googleapis.com/"
                                      "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"}}]
        out["host_selection_retry_max_attempts"] = 5
        out["retriable_request_headers"] = [{"name": ":method", "string_match": {"exact": x}}
                                            for x in retry.methods]
        if retry.backoff_ms:
            out["retry_back_off"] = {"base_interval": seconds(retry.backoff_ms),
                                     "max_interval": seconds(retry.backoff_ms)}
    if attempt_ms:
        out["per_try_timeout"] = seconds(attempt_ms)
    return out


def hash_policies(ups: list[ir.Upstream]) -> list[Plan]:
    out: list[Plan] = []
    for up in ups:
        if up.balance == "ip_hash":
            policy: Plan = {"connection_properties": {"source_ip": True}}
        elif up.balance == "hash" and up.hash_key:
            key = up.hash_key
            if key.source == "header":
                policy = {"header": {"header_name": key.name}}
            elif key.source == "cookie":
                policy = {"cookie": {"name": key.name}}
            elif key.source == "client_ip":
                policy = {"connection_properties": {"source_ip": True}}
            else:
                policy = {"header": {"header_name": ":path"}}
        else:
            continue
        if policy not in out:
            out.append(policy)
    return out


def mirror(m: ir.Mirror) -> Plan:
    out: Plan = {"cluster": m.upstream, "disable_shadow_host_suffix_append": True}
    if m.percent < 100:
        out["runtime_fraction"] = {"default_value": {"numerator": round(m.percent * 10_000),
                                                     "denominator": "MILLION"}}
    return out


def redirect(listener: ir.Listener, route: ir.Route, m: ir.Match, r: ir.Redirect) -> Plan:
    out: Plan = {"response_code": REDIRECT_CODES[r.status]}
    scheme = r.scheme or listener.protocol
    if r.scheme:
        out["scheme_redirect"] = r.scheme
    if r.host:
        out["host_redirect"] = r.host
    port = r.port if r.port is not None else routing.DEFAULT_PORTS[r.scheme] if r.scheme else listener.port
    if port != routing.DEFAULT_PORTS[scheme]:
        out["port_redirect"] = port
    if r.path is not None:
        if r.path.type == "full":
            out["path_redirect"] = r.path.replacement
        else:
            prefix = routing.rewritten_prefix(r.path, m)
            if prefix is not None:
                out["regex_rewrite"] = prefix_rewrite(prefix, routing.strip_slash(r.path.replacement))
    return out
