"""IR listeners → Envoy listeners, each with one HTTP connection manager and its route
configuration."""
from __future__ import annotations

from edgec import ir

from . import claims, lua, policies, routes, tracing
from .actions import REDIRECT_CODES, seconds
from .headers import literal, option
from .logs import access_log
from .names import listener as listener_name

Plan = dict

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
BUFFER = "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer"


def listener(edge: ir.Edge, lst: ir.Listener, creds: dict[str, Plan]) -> Plan:
    chain: Plan = {"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                "typed_config": connection_manager(edge, lst, creds)}]}
    if lst.tls:
        chain["transport_socket"] = {"name": "envoy.transport_sockets.tls",
                                     "typed_config": tls_context(lst)}
    return {"name": listener_name(lst),
            "address": {"socket_address": {"address": lst.address, "port_value": lst.port}},
            "filter_chains": [chain]}


def tls_context(lst: ir.Listener) -> Plan:
    tls = lst.tls
    assert tls is not None
    out: Plan = {"@type": TLS, "common_tls_context": {
        "tls_params": {"tls_minimum_protocol_version": "TLSv1_3" if tls.min_version == "1.3" else "TLSv1_2"},
        "tls_certificates": [{"certificate_chain": {"filename": tls.cert},
                              "private_key": {"filename": tls.key}}],
        "alpn_protocols": ["h2", "http/1.1"] if lst.http2 else ["http/1.1"]}}
    if lst.client_cert:
        # with a validation context Envoy asks for a certificate and refuses an untrusted one
        out["common_tls_context"]["validation_context"] = {"trusted_ca": {"filename": lst.client_cert.ca}}
        out["require_client_certificate"] = lst.client_cert.required
    return out


def connection_manager(edge: ir.Edge, lst: ir.Listener, creds: dict[str, Plan]) -> Plan:
    limits = edge.limits
    config = route_config(edge, lst, creds)
    chain = http_filters(edge, lst, [r for vh in config["virtual_hosts"] for r in vh["routes"]], creds)
    out: Plan = {
        "@type": HCM,
        "stat_prefix": listener_name(lst),
        "codec_type": "AUTO",
        # routes match the normalised path, as routing.normalize_path does
        "normalize_path": True,
        "merge_slashes": True,
        "use_remote_address": True,
        "xff_num_trusted_hops": 0,
        "generate_request_id": True,
        "preserve_external_request_id": True,
        "always_set_request_id_in_response": True,
        "request_headers_timeout": seconds(limits.header_timeout_ms),
        # a header name with "_" is dropped, as routing.without_underscores does
        "common_http_protocol_options": {"idle_timeout": seconds(limits.idle_timeout_ms),
                                         "max_headers_count": limits.max_headers,
                                         "headers_with_underscores_action": "DROP_HEADER"},
        # Envoy bounds the whole header block in KiB; edgec bounds each line
        "max_request_headers_kb": min(8192, max(1, -(-limits.max_header_bytes * limits.max_headers // 1024))),
        "route_config": config,
        "http_filters": chain,
        # a server that cannot be connected to (refused, reset, a TLS check failed) is 502, as on
        # every other target; Envoy's own answer would be 503
        "local_reply_config": {"mappers": [{"filter": {"response_flag_filter": {"flags": ["UF"]}},
                                            "status_code": 502}, *claims.local_replies(edge)]},
    }
    if lst.redirect is None:
        # the buffer filter waits for the end of the request body, which an upgraded
        # connection never has: upgrades run the same chain without it
        out["upgrade_configs"] = [{"upgrade_type": "websocket",
                                   "filters": [f for f in chain if f["name"] != "envoy.filters.http.buffer"]}]
    if edge.trusted_proxies:  # in place of use_remote_address (Envoy refuses both)
        out["original_ip_detection_extensions"] = original_ip_detection(edge.trusted_proxies)
        del out["use_remote_address"], out["xff_num_trusted_hops"]
    traced = tracing.connection_manager(edge)
    if traced:
        out["tracing"] = traced
    log = access_log(edge.observability)
    if log:
        out["access_log"] = [log]
    return out


def http_filters(edge: ir.Edge, lst: ir.Listener, routes_: list[Plan], creds: dict[str, Plan]) -> list[Plan]:
    out = [request_id_filter(), *policies.edge_access(edge)]
    if lst.redirect is None:
        out += policies.filters(edge, edge.observability.metrics_path is not None, creds)
    if any(lua.FILTER in r.get("typed_per_filter_config", {}) for r in routes_):
        out.append(lua.http_filter())
    if lst.redirect is None:
        out.append({"name": "envoy.filters.http.buffer",
                    "typed_config": {"@type": BUFFER, "max_request_bytes": edge.limits.max_body_bytes}})
    out.append({"name": "envoy.filters.http.router",
                "typed_config": {"@type": ROUTER, "suppress_envoy_headers": True}})
    return out


def request_id_filter() -> Plan:
    """A client's X-Request-Id that is not a sane one (ir.SANE_REQUEST_ID) replaced by a new id
    before any other filter reads it: the connection manager keeps whatever the client sent
    (preserve_external_request_id), and answers with the request's id as the filters left it.
    The header_mutation filter is skipped when the id is sane, or made by Envoy for a request
    without one."""
    sane = {"single_predicate": {
        "input": {"name": "request_id", "typed_config": {
            "@type": "type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput",
            "header_name": "x-request-id"}},
        "value_match": {"safe_regex": {"google_re2": {}, "regex": ir.SANE_REQUEST_ID.pattern}}}}
    return {"name": "edgec.request_id", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcher",
        "xds_matcher": {"matcher_list": {"matchers": [{"predicate": sane, "on_match": {"action": {
            "name": "skip", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter"}}}}]}},
        "extension_config": {"name": "envoy.filters.http.header_mutation", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {"request_mutations": [{"append": {
                "header": {"key": "x-request-id", "value": "%UNIQUE_ID%"},
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}]}}}}}


def forwarding_headers(edge: ir.Edge) -> list[Plan]:
    """What every target tells the backend about the client. With no trusted proxy the
    client's own X-Forwarded-For is replaced; behind trusted proxies the peer is appended to
    it, and the client address (X-Real-IP) is the one original IP detection found."""
    out = [option("x-real-ip", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%")]
    if edge.trusted_proxies:
        out.append(option("x-forwarded-for", "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%", append=True))
    else:
        out.append(option("x-forwarded-for", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"))
    return out + [option("x-forwarded-host", "%REQ(:AUTHORITY)%")]


def client_subject(lst: ir.Listener) -> list[Plan]:
    """The verified client certificate's subject, in place of whatever the client sent under
    that name (route_config removes that first); none without a certificate."""
    header = lst.client_cert.header if lst.client_cert else None
    if not header:
        return []
    return [{"header": {"key": header, "value": "%DOWNSTREAM_PEER_SUBJECT%"},
             "append_action": "OVERWRITE_IF_EXISTS_OR_ADD", "keep_empty_value": False}]


def original_ip_detection(trusted: tuple[str, ...]) -> list[Plan]:
    """The client address read from X-Forwarded-For right to left, past the trusted proxies
    (nginx's real_ip_recursive), when the peer is one of them."""
    return [{"name": "envoy.extensions.http.original_ip_detection.xff", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.http.original_ip_detection.xff.v3.XffConfig",
        "xff_trusted_cidrs": {"cidrs": policies.cidr_ranges(trusted)}}}]


def route_config(edge: ir.Edge, lst: ir.Listener, creds: dict[str, Plan]) -> Plan:
    name = listener_name(lst)
    if lst.redirect is not None:
        redirect: Plan = {"https_redirect": True, "response_code": REDIRECT_CODES[lst.redirect.status]}
        everything: Plan = {"match": {"prefix": "/"}, "redirect": redirect}
        if lst.redirect.port != 443:
            redirect["port_redirect"] = lst.redirect.port
        else:
            everything["typed_per_filter_config"] = lua.per_route(lua.STRIP_PORT)
        return {"name": name, "virtual_hosts": [{"name": "redirect", "domains": ["*"], "routes": [everything]}]}
    out = {"name": name,
           "ignore_port_in_host_matching": True,
           "request_headers_to_add": forwarding_headers(edge) + client_subject(lst),
           "response_headers_to_remove": ["x-powered-by"],
           "virtual_hosts": routes.virtual_hosts(edge, lst, creds)}
    if lst.client_cert and lst.client_cert.header:
        out["request_headers_to_remove"] = [lst.client_cert.header]  # (removed before the ones added)
    if lst.hsts and lst.tls:
        out["response_headers_to_add"] = [option("strict-transport-security", literal(lst.hsts.header_value),
                                                 append=True)]
    return out
