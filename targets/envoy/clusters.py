"""IR upstreams → Envoy clusters: endpoints, balancing, health checks, passive ejection."""
from __future__ import annotations

import ipaddress

from edgec import ir
from edgec.targets import envoy_outlier

from .actions import seconds

Plan = dict

LB_POLICIES = {"round_robin": "ROUND_ROBIN", "least_conn": "LEAST_REQUEST", "ip_hash": "RING_HASH",
               "hash": "RING_HASH", "random": "RANDOM"}


UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def service_cluster(name: str, scheme: str, host: str, port: int, ca_file: str, connect_timeout_ms: int) -> Plan:
    """A cluster for a service the edge itself calls at a URL (a JWKS server, a trace collector):
    over https its certificate must chain to `ca_file` and name the host."""
    c: Plan = {"name": name, "type": "STRICT_DNS", "dns_lookup_family": "V4_PREFERRED",
               "connect_timeout": seconds(connect_timeout_ms),
               "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                   "address": {"socket_address": {"address": host, "port_value": port}}}}]}]}}
    if scheme == "https":
        c["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": UPSTREAM_TLS, "sni": host,
            "common_tls_context": {"validation_context": {
                "trusted_ca": {"filename": ca_file},
                "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": host}}]}}}}
    return c


def cluster(up: ir.Upstream) -> Plan:
    out: Plan = {
        "name": up.name,
        "type": "STATIC" if all(is_ip(s.host) for s in up.servers) else "STRICT_DNS",
        "connect_timeout": seconds(up.timeouts.connect_ms),
        "lb_policy": LB_POLICIES[up.balance],
        "load_assignment": {"cluster_name": up.name, "endpoints": localities(up)},
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": {"idle_timeout": seconds(up.keepalive.idle_timeout_ms)},
                "explicit_http_config": {"http_protocol_options": {}},
            }},
    }
    if out["type"] == "STRICT_DNS":
        out["dns_lookup_family"] = "V4_PREFERRED"
    if up.tls:
        out["transport_socket"] = transport_socket(up)
    if up.health:
        out["health_checks"] = [health_check(up.health)]
    if up.passive.max_fails:
        out["outlier_detection"] = outlier_detection(up.passive)
    if up.circuit_breaker:
        cb = up.circuit_breaker
        # the requests are bounded by the connections and the queue (one request per HTTP/1.1
        # connection): max_requests, whose default is 1024, must not bind first
        out["circuit_breakers"] = {"thresholds": [{"max_connections": cb.max_connections,
                                                   "max_pending_requests": cb.max_pending,
                                                   "max_requests": cb.max_connections + cb.max_pending}]}
    return out


def transport_socket(up: ir.Upstream) -> Plan:
    """TLS to the servers: the name sent (SNI) is the one the certificate must hold."""
    tls = up.tls
    name = tls.sni or up.servers[0].host
    context: Plan = {}
    if tls.verify:
        matcher = "IP_ADDRESS" if is_ip(name) else "DNS"
        context["validation_context"] = {"trusted_ca": {"filename": tls.ca},
                                         "match_typed_subject_alt_names": [{"san_type": matcher,
                                                                            "matcher": {"exact": name}}]}
    if tls.cert:
        context["tls_certificates"] = [{"certificate_chain": {"filename": tls.cert},
                                        "private_key": {"filename": tls.key}}]
    out: Plan = {"@type": UPSTREAM_TLS, "common_tls_context": context}
    if not is_ip(name):
        out["sni"] = name
    return {"name": "envoy.transport_sockets.tls", "typed_config": out}


def localities(up: ir.Upstream) -> list[Plan]:
    """Primary servers at priority 0, backup servers at priority 1 (used as the primaries
    become unhealthy)."""
    out = []
    for priority, backup in ((0, False), (1, True)):
        servers = [s for s in up.servers if s.backup == backup]
        if servers:
            group: Plan = {"lb_endpoints": [endpoint(s) for s in servers]}
            if priority:
                group["priority"] = priority
            out.append(group)
    return out


def endpoint(s: ir.Server) -> Plan:
    out: Plan = {"endpoint": {"address": {"socket_address": {"address": s.host, "port_value": s.port}}}}
    if s.weight != 1:
        out["load_balancing_weight"] = s.weight
    return out


def health_check(h: ir.HealthCheck) -> Plan:
    lo, hi = h.expect_status
    http: Plan = {"path": h.path, "expected_statuses": [{"start": lo, "end": hi + 1}]}
    if h.method != "GET":
        http["method"] = h.method
    # Envoy probes a cluster that has had no traffic yet only once a minute unless told
    return {"timeout": seconds(h.timeout_ms), "interval": seconds(h.interval_ms),
            "no_traffic_interval": seconds(h.interval_ms), "no_traffic_healthy_interval": seconds(h.interval_ms),
            "unhealthy_threshold": h.unhealthy_threshold, "healthy_threshold": h.healthy_threshold,
            "http_health_check": http}


def outlier_detection(p: ir.PassiveCheck) -> Plan:
    """max_fails consecutive failures (as envoy_outlier counts them) eject a server for
    fail_timeout; the other ejection rules are off."""
    kind = envoy_outlier.counter(p)
    out: Plan = {"split_external_local_origin_errors": kind == "local_origin"}
    if kind == "local_origin":
        out |= {"consecutive_local_origin_failure": p.max_fails, "enforcing_consecutive_local_origin_failure": 100}
    elif kind == "gateway":
        out["consecutive_gateway_failure"] = p.max_fails
    else:
        out["consecutive_5xx"] = p.max_fails
    out |= {"enforcing_consecutive_5xx": 100 if "consecutive_5xx" in out else 0,
            "enforcing_consecutive_gateway_failure": 100 if "consecutive_gateway_failure" in out else 0}
    return out | {"enforcing_success_rate": 0, "enforcing_local_origin_success_rate": 0,
                  "enforcing_failure_percentage": 0, "enforcing_failure_percentage_local_origin": 0,
                  "interval": seconds(p.fail_timeout_ms), "base_ejection_time": seconds(p.fail_timeout_ms),
                  "max_ejection_time": seconds(p.fail_timeout_ms), "max_ejection_percent": 100}
