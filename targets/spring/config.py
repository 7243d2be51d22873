"""application.yml: the Spring Boot properties of the generated gateway, built as data and
written with ruamel.yaml (the YAML writer quotes every scalar that needs it).

Spring resolves ${...} placeholders in property values; a value from the .edge source
that contains "${" is escaped ("\\${", Spring Framework 6.2+) so that it stays literal.
"""
from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from edgec import ir, routing

from .names import Names

GATEWAY = "spring.cloud.gateway.server.webflux"


def literal(value: str) -> str:
    return value.replace("${", "\\${")


def duration(ms: int) -> str:
    return f"{ms}ms"


def _put(root: CommentedMap, dotted: str, value) -> None:
    node = root
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, CommentedMap())
    node[parts[-1]] = value


def main_listener(edge: ir.Edge) -> ir.Listener:
    """The listener Spring Boot serves itself: the HTTPS one, else the first plain one."""
    for lst in edge.listeners:
        if lst.protocol == "https":
            return lst
    return next((lst for lst in edge.listeners if not lst.redirect), edge.listeners[0])


def listener_property(lst: ir.Listener, what: str = "port") -> str:
    return f"edge.listeners.{lst.protocol}-{lst.port}.{what}"


def balanced(up: ir.Upstream) -> bool:
    """Whether the routes forward to the upstream through its LoadBalancer client (lb://): there is
    a choice of server to make, or a server's health or cookie to follow. Else they forward to its
    one server itself, which spares every request SCG's load-balancer filter (a bean lookup and an
    instance list on another thread)."""
    return len(up.servers) > 1 or up.health is not None or up.sticky is not None


def uses_subrequests(edge: ir.Edge) -> bool:
    return any(isinstance(r.action, ir.Aggregate) or r.mirrors for r in edge.routes)


def uses_load_balancer(edge: ir.Edge) -> bool:
    """Whether the project needs Spring Cloud LoadBalancer: a balanced upstream, or a sub-request
    (EdgeSubrequests sends mirrors and aggregate parts through a load-balanced WebClient, to any
    upstream). Without it on the class path SCG has no load-balancer filters for a request to
    pass through."""
    return any(balanced(up) for up in edge.upstreams) or uses_subrequests(edge)


def instance_metadata(up: ir.Upstream, server: ir.Server) -> dict[str, str]:
    """The metadata of a server's LoadBalancer instance: its weight (read by the weighted
    supplier and the least_conn balancer) and whether it is a backup (EdgeLoadBalancing)."""
    metadata = {}
    if any(s.weight != 1 for s in up.servers):
        metadata["weight"] = str(server.weight)
    if server.backup:
        metadata["backup"] = "true"
    return metadata


def instances_property(service: str) -> str:
    """The property that lists an upstream's servers (Spring Cloud's simple discovery client)."""
    return f"spring.cloud.discovery.client.simple.instances.{service}"


def client_connect_timeout_ms(edge: ir.Edge) -> int:
    """The connect timeout set once on the gateway's HTTP client (EdgeApplication); a route whose
    upstream waits otherwise carries its own in its metadata."""
    return max(u.timeouts.connect_ms for u in edge.upstreams)


def client_response_timeout_ms(edge: ir.Edge) -> int | None:
    """The response timeout set once on the gateway's HTTP client (EdgeApplication): the longest
    attempt timeout of any route at any upstream it forwards to, None when no route forwards. A
    route that waits less carries its own in its metadata (SCG then times its response with a
    timer of its own, scheduled and cancelled for every request)."""
    upstreams = {u.name: u for u in edge.upstreams}
    attempts = [routing.attempt_timeout_ms(route.timeouts, upstreams[backend.upstream])
                for route in edge.routes if isinstance(route.action, ir.Forward)
                for backend in route.action.backends]
    return max(attempts, default=None)


def idle_timeout_ms(edge: ir.Edge) -> int | None:
    """The edge's idle_timeout as EdgeConnections keeps it on the main listener's connections, None
    when the listener serves HTTP/2: its requests are streams that timer does not count, so
    Reactor Netty keeps it (server.netty.idle-timeout, a handler added after each response)."""
    return None if main_listener(edge).http2 else edge.limits.idle_timeout_ms


def connection_idle_timeout_ms(edge: ir.Edge) -> int | None:
    """The edge's idle_timeout when EdgeConnections keeps it on any listener's connections: the
    main listener's (idle_timeout_ms) and every other one's, all HTTP/1.1 (lint refuses http2 on a
    plain listener, and Spring serves one HTTPS listener, the main one); None when neither."""
    return edge.limits.idle_timeout_ms if idle_timeout_ms(edge) is not None or len(edge.listeners) > 1 else None


def application_yml(edge: ir.Edge, names: Names, needs: set[str]) -> str:
    root = CommentedMap()
    main = main_listener(edge)
    _put(root, "server.port", main.port)
    _put(root, "server.address", main.address)
    _put(root, "server.max-http-request-header-size", f"{edge.limits.max_header_bytes}B")
    if idle_timeout_ms(edge) is None:
        _put(root, "server.netty.idle-timeout", duration(edge.limits.idle_timeout_ms))
    if main.tls:
        _put(root, "server.ssl.bundle", "edge")
        if main.tls.min_version == "1.3":
            _put(root, "server.ssl.enabled-protocols", ["TLSv1.3"])
        _put(root, "spring.ssl.bundle.pem.edge.keystore.certificate", literal(main.tls.cert))
        _put(root, "spring.ssl.bundle.pem.edge.keystore.private-key", literal(main.tls.key))
        if main.client_cert:
            _put(root, "server.ssl.client-auth", "need" if main.client_cert.required else "want")
            _put(root, "spring.ssl.bundle.pem.edge.truststore.certificate", literal(main.client_cert.ca))
    if main.http2:
        _put(root, "server.http2.enabled", True)
    for lst in edge.listeners:
        if lst is not main:
            _put(root, listener_property(lst), lst.port)
            _put(root, listener_property(lst, "address"), lst.address)
    _put(root, "spring.application.name", literal(edge.name))
    if "redis" in needs:
        _put(root, "spring.data.redis.host", "${EDGE_REDIS_HOST:127.0.0.1}")
        _put(root, "spring.data.redis.port", "${EDGE_REDIS_PORT:6379}")
    for up in edge.upstreams:
        service = names.service(up.name)
        instances = []
        for i, server in enumerate(up.servers, start=1):
            host = f"[{server.host}]" if ":" in server.host else server.host
            inst = CommentedMap(uri=f"http://{host}:{server.port}", **{"instance-id": f"{service}-{i}"})
            metadata = instance_metadata(up, server)
            if metadata:
                inst["metadata"] = CommentedMap(metadata)
            instances.append(inst)
        _put(root, instances_property(service), instances)
        if up.health:
            client = f"spring.cloud.loadbalancer.clients.{service}.health-check"
            _put(root, f"{client}.path.{service}", literal(up.health.path))
            _put(root, f"{client}.interval", duration(up.health.interval_ms))
            _put(root, f"{client}.initial-delay", "0ms")
            # a round publishes its whole verdict at once: a partial list (the first servers to
            # answer) would send traffic to a backup while a primary's probe is still running
            _put(root, f"{client}.update-results-list", False)
        if up.sticky:
            _put(root, f"spring.cloud.loadbalancer.clients.{service}.sticky-session.instance-id-cookie-name",
                 up.sticky.cookie)
    if uses_load_balancer(edge):
        # the instances are static: EdgeLoadBalancing reads them once, no cache to keep
        _put(root, "spring.cloud.loadbalancer.cache.enabled", False)
    if edge.upstreams:
        # one connection pool for every upstream. No httpclient.connect-timeout: with it set, SCG
        # copies the client for every request to set it again; EdgeApplication sets it once
        _put(root, f"{GATEWAY}.httpclient.pool.max-idle-time",
             duration(max(u.keepalive.idle_timeout_ms for u in edge.upstreams)))
    # the routes never change while the gateway runs: SCG merges and sorts each route's filters with
    # the global ones once, not for every request
    _put(root, f"{GATEWAY}.route-filter-cache-enabled", True)
    if "cache" in needs:
        _put(root, f"{GATEWAY}.filter.local-response-cache.enabled", True)
        _put(root, f"{GATEWAY}.global-filter.local-response-cache.enabled", False)
    metrics = edge.observability.metrics_path
    if metrics:
        base, _, leaf = metrics.rstrip("/").rpartition("/")
        _put(root, "management.endpoints.web.base-path", literal(base) or "/")
        _put(root, "management.endpoints.web.exposure.include", "prometheus")
        _put(root, "management.endpoints.web.path-mapping.prometheus", literal(leaf))
        _put(root, "management.endpoints.web.discovery.enabled", False)
    tracing = edge.observability.tracing
    if tracing:
        # Boot's sampler is parent-based: the client's sampled flag, else this probability
        _put(root, "management.tracing.sampling.probability", tracing.sample_percent / 100)
        _put(root, "management.tracing.propagation.type", "w3c")
        _put(root, "management.otlp.tracing.endpoint", literal(tracing.url))
        _put(root, "management.otlp.tracing.transport", "http")
        if not metrics:  # the actuator is there for tracing only: it answers no path of the edge's
            _put(root, "management.endpoints.web.exposure.exclude", "*")
    out = io.StringIO()
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(root, out)
    return "# Generated by edgec. Spring Boot properties of the gateway.\n" + out.getvalue()
