"""The generated Maven project: which files, which dependencies, rendered from the templates.

Java templates render every expression through `java.literal` (Jinja2 `finalize`): a
plain string always becomes a quoted Java literal, and only fragments marked `Java`
(built in routes.py from quoted parts) go in as they are. The pom is rendered with XML
autoescaping; application.yml is written by config.py with ruamel.yaml; the README holds
no edge value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2

from edgec import ir, routing

from . import config, routes
from .java import Java, class_name, identifier, literal, literals, string

# boot option → (Spring Boot, Spring Cloud train, SCG): pairs that resolve from Maven Central
VERSIONS = {"3": ("3.5.7", "2025.0.0", "4.3"), "4": ("4.0.7", "2025.1.4", "5.0")}
SUPPORTED_JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                            "HS256", "HS384", "HS512")
HMAC = {"HS256": "HmacSHA256", "HS384": "HmacSHA384", "HS512": "HmacSHA512"}


LAYOUT = {
    "EdgeApplication.java": "the Spring Boot application; a LoadBalancer client per upstream when one is balanced",
    "EdgeRoutes.java": "the routes (Java DSL), ordered by edgec's precedence",
    "EdgeIdentity.java": "the backend's Server and X-Powered-By hidden, X-Request-Id to the backend and back",
    "EdgeConnections.java": "the idle timeout of client connections, the response timeout of backend ones",
    "EdgeMatching.java": "request predicates with edgec's meaning, path normalisation, client address",
    "EdgeFilters.java": "route filters: rewrites, redirects, fixed responses, CORS, deadline, sticky cookie",
    "EdgeSecurity.java": "the auth providers (JWT, basic, API key) as route filters",
    "EdgeRateLimits.java": "the rate limits' key resolvers (RedisRateLimiter)",
    "EdgeLoadBalancing.java": "each upstream's instance suppliers and algorithm",
    "EdgeSubrequests.java": "response aggregation and mirroring",
    "EdgeListeners.java": "the listeners besides server.port",
    "application.yml": "ports, TLS, upstream servers, health checks, sticky cookies, metrics",
}


def _run_needs(edge: ir.Edge) -> list[str]:
    """What an operator must provide, in Markdown (names only: edge values stay out of prose)."""
    needs = []
    if any(r.rate_limit for r in edge.routes):
        needs.append("Redis for the rate limits: `EDGE_REDIS_HOST` and `EDGE_REDIS_PORT` "
                     "(default 127.0.0.1:6379), or `spring.data.redis.*`.")
    secrets = sorted({s.secret for a in edge.auth for s in (
        ([a.secret] if isinstance(a, ir.JwtAuth) and a.secret else [])
        + ([a.htpasswd] if isinstance(a, ir.BasicAuth) and isinstance(a.htpasswd, ir.Secret) else [])
        + (list(a.keys) if isinstance(a, ir.ApiKeyAuth) else []))})
    if secrets:
        needs.append("Secrets, each from the environment variable of its name or the file of that name in "
                     "`$EDGEC_SECRETS_DIR`: " + ", ".join(f"`{re.sub(r'[^A-Za-z0-9_.-]', '', name)}`"
                                                        for name in secrets) + ".")
    if any(lst.tls for lst in edge.listeners):
        needs.append("The TLS certificate and key files named in `spring.ssl.bundle.pem.edge` (application.yml).")
    if any(isinstance(a, ir.BasicAuth) and not isinstance(a.htpasswd, ir.Secret) for a in edge.auth) or \
            any(isinstance(a, ir.ApiKeyAuth) and a.keys_file for a in edge.auth):
        needs.append("The htpasswd and API key files the auth providers name (read at start-up).")
    needs.append("Ports: `server.port` and `server.address` for the main listener"
                 + (", `edge.listeners.<protocol>-<port>.port` and `.address` for the others"
                    if len(edge.listeners) > 1 else "") + "; any property can be overridden on the command "
                 "line (`--server.port=9090`) or in the environment (`SERVER_PORT=9090`).")
    if edge.observability.metrics_path:
        needs.append("Prometheus scrapes the metrics path the edge names (Spring Boot actuator).")
    return needs


@dataclass(frozen=True)
class Dependency:
    group: str
    artifact: str
    why: str


def _java_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader(__name__.rpartition(".")[0], "templates"),
                              finalize=literal, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _text_env() -> jinja2.Environment:
    """Markdown made only of edgec's own words and of names edgec checked (secret names, a
    sanitised artifact id): no edge value reaches it."""
    return jinja2.Environment(loader=jinja2.PackageLoader(__name__.rpartition(".")[0], "templates"),
                              autoescape=False, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _xml_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader(__name__.rpartition(".")[0], "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def comment(text: str) -> Java:
    """Source text inside a Java comment: as a Java string literal (so no \\u escape or line
    break survives), with any comment terminator broken."""
    return Java(string(text).replace("*/", "*\\/"))


def package_name(edge: ir.Edge, option: str) -> str:
    if option:
        return option
    # a package part is an identifier: never a keyword (`edge.class`), never a leading digit
    return "edge." + identifier(re.sub(r"[^a-z0-9]", "", edge.name.lower()) or "gateway")


def dependencies(edge: ir.Edge) -> list[Dependency]:
    deps = [Dependency("org.springframework.cloud", "spring-cloud-starter-gateway-server-webflux",
                       "Spring Cloud Gateway on WebFlux")]
    if config.uses_load_balancer(edge):
        deps.append(Dependency("org.springframework.cloud", "spring-cloud-starter-loadbalancer",
                               "lb:// upstreams: static instances, weights, health checks, sticky sessions"))
    if any(r.rate_limit for r in edge.routes):
        deps.append(Dependency("org.springframework.boot", "spring-boot-starter-data-redis-reactive",
                               "RedisRateLimiter: token buckets in Redis"))
    if any(isinstance(a, ir.JwtAuth) for a in edge.auth):
        deps.append(Dependency("org.springframework.security", "spring-security-oauth2-jose",
                               "JWT validation (NimbusReactiveJwtDecoder)"))
    if any(isinstance(a, ir.BasicAuth) for a in edge.auth):
        deps.append(Dependency("org.springframework.security", "spring-security-crypto",
                               "bcrypt htpasswd entries"))
    if any(r.cache for r in edge.routes):
        deps.append(Dependency("org.springframework.boot", "spring-boot-starter-cache", "LocalResponseCache"))
        deps.append(Dependency("com.github.ben-manes.caffeine", "caffeine", "LocalResponseCache storage"))
    actuator = [why for why, needed in (("the metrics endpoint", edge.observability.metrics_path),
                                         ("the tracing of requests", edge.observability.tracing)) if needed]
    if actuator:
        deps.append(Dependency("org.springframework.boot", "spring-boot-starter-actuator", ", ".join(actuator)))
    if edge.observability.metrics_path:
        deps.append(Dependency("io.micrometer", "micrometer-registry-prometheus", "Prometheus exposition format"))
    if edge.observability.tracing:
        deps.append(Dependency("io.micrometer", "micrometer-tracing-bridge-otel",
                               "Micrometer's observations as OpenTelemetry spans, W3C traceparent"))
        deps.append(Dependency("io.opentelemetry", "opentelemetry-exporter-otlp", "spans sent over OTLP/HTTP"))
    return deps


def _imports(spring_routes: list[routes.SpringRoute], params: str) -> tuple[list[str], list[str]]:
    text = "\n".join(list(map(str, (p for r in spring_routes for p in r.predicates + r.filters)))
                     + [str(k) for r in spring_routes for k, _ in r.metadata])
    candidates = {
        "java.time.Duration": "Duration",
        "java.util.List": "List.of",
        "org.springframework.beans.factory.annotation.Qualifier": "@Qualifier",
        "org.springframework.cloud.gateway.filter.ratelimit.KeyResolver": "KeyResolver",
        "org.springframework.cloud.gateway.filter.ratelimit.RedisRateLimiter": "RedisRateLimiter",
        "org.springframework.http.HttpMethod": "HttpMethod",
        "org.springframework.http.HttpStatus": "HttpStatus",
        "org.springframework.util.unit.DataSize": "DataSize",
        "org.springframework.core.env.Environment": "Environment environment",
    }
    imports = sorted({"org.springframework.cloud.gateway.route.RouteLocator",
                      "org.springframework.cloud.gateway.route.builder.RouteLocatorBuilder",
                      "org.springframework.context.annotation.Bean",
                      "org.springframework.context.annotation.Configuration"}
                     | {cls for cls, token in candidates.items() if token in text or token in params})
    static = sorted(f"org.springframework.cloud.gateway.support.RouteMetadataUtils.{attr}"
                    for attr in ("CONNECT_TIMEOUT_ATTR", "RESPONSE_TIMEOUT_ATTR") if attr in text)
    java_first = [i for i in imports if i.startswith("java.")]
    return static, java_first + [i for i in imports if not i.startswith("java.")]


# routes per generated class: javac overflows its stack on one fluent chain of about 1,000 routes,
# and a class holds at most 65,535 constants (10,000 routes in one class exceed it)
ROUTES_PER_CLASS = 250


def _parameters(edge: ir.Edge, names, spring_routes: list[routes.SpringRoute]) -> str:
    params = ["RouteLocatorBuilder builder"]
    if routes.reads_environment(spring_routes):
        params.append("Environment environment")
    if edge.auth:
        params.append("EdgeSecurity security")
    if config.uses_subrequests(edge):
        params.append("EdgeSubrequests subrequests")
    if names.key_resolvers:
        params.append("EdgeRateLimits rateLimits")
        params += [f'@Qualifier("{bean}") KeyResolver {bean}' for bean in names.key_resolvers.values()]
    return ", ".join(params)


def _auth_context(edge: ir.Edge, names) -> list[dict]:
    out = []
    for a in edge.auth:
        d = {"kind": Java(a.kind), "name": a.name, "name_comment": comment(a.name),
             "method": Java(names.auth_method(a.name))}
        if isinstance(a, ir.JwtAuth):
            hmac = next((alg for alg in a.algorithms if alg in HMAC), None) if a.secret else None
            d.update(hmac=Java(hmac) if hmac else None, hmac_java=HMAC.get(hmac or ""),
                     secret=a.secret.secret if a.secret else None,
                     source_java=Java(f"withJwkSetUri({literal(a.jwks_url)})" if a.jwks_url
                                      else f"withIssuerLocation({literal(a.issuer)})"),
                     algorithms=[Java(alg) for alg in a.algorithms if alg not in HMAC],
                     issuer=a.issuer, audiences=Java(", ".join(literal(x) for x in a.audiences)),
                     leeway_ms=a.leeway_ms, header=a.header)
        elif isinstance(a, ir.BasicAuth):
            d.update(realm=a.realm, htpasswd_java=Java(f"secret({literal(a.htpasswd.secret)})"
                                                       if isinstance(a.htpasswd, ir.Secret)
                                                       else f"readFile({literal(a.htpasswd)})"))
        elif isinstance(a, ir.ExternalAuth):
            d.update(service=f"http://{a.address}", path=a.path, timeout_ms=a.timeout_ms,
                     forwarded=Java(", ".join(literal(h) for h in a.check_headers)),
                     copied=Java(", ".join(literal(h) for h in a.copy_headers)))
        else:
            d.update(header=a.header, challenge=routing.api_key_challenge(a), keys_file=a.keys_file,
                     secrets=[k.secret for k in a.keys])
        out.append(d)
    return out


def _upstream_context(edge: ir.Edge, names) -> list[dict]:
    out = []
    classes: set[str] = set()
    for up in edge.upstreams:
        least_conn = up.balance == "least_conn"
        # (builder call, name in the class comment): the instance suppliers, innermost first
        suppliers = []
        if up.health:
            suppliers.append(("withHealthChecks()", "HealthChecks"))
        if any(s.backup for s in up.servers):
            suppliers.append(("with((unused, delegate) -> new BackupInstances(delegate))", "BackupInstances"))
        if any(s.weight != 1 for s in up.servers) and not least_conn:  # least_conn reads the weights itself
            suppliers.append(("withWeighted()", "Weighted"))
        if up.sticky:
            suppliers.append(("withRequestBasedStickySession()", "RequestBasedStickySession"))
        algorithm = {"random": "RandomLoadBalancer", "least_conn": "LeastConnLoadBalancer"}.get(
            up.balance, "RoundRobinLoadBalancer")
        hashed = up.balance in ("hash", "ip_hash")
        source = (up.hash_key.source if up.hash_key else "uri") if up.balance == "hash" else "client_ip"
        cls = class_name(up.name) + "Upstream"
        while cls in classes:
            cls += "X"
        classes.add(cls)
        balance = (f"hash of {source.replace('_', ' ')}" if hashed else
                   {"random": "random", "least_conn": "least connections"}.get(up.balance, "round robin"))
        out.append({"service": names.service(up.name), "cls": Java(cls), "name_comment": comment(up.name),
                    "summary_comment": Java(", ".join([balance] + [word for _, word in suppliers])),
                    "suppliers": [Java(call) for call, _ in suppliers],
                    "algorithm": Java(algorithm), "least_conn": least_conn,
                    # InFlight finds a least_conn balancer by its class
                    "bean_type": Java(algorithm if least_conn else "ReactorLoadBalancer<ServiceInstance>"),
                    "hash": hashed, "hash_source": source, "hash_name": up.hash_key.name if up.hash_key else None})
    return out


def _hsts(edge: ir.Edge) -> str | None:
    """The HTTPS listener's Strict-Transport-Security (Spring serves one HTTPS listener)."""
    main = config.main_listener(edge)
    return main.hsts.header_value if main.protocol == "https" and main.hsts else None


def _subject_header(edge: ir.Edge) -> str | None:
    """The header the HTTPS listener passes the client certificate's subject in."""
    main = config.main_listener(edge)
    return main.client_cert.header if main.protocol == "https" and main.client_cert else None


def _listener_context(edge: ir.Edge) -> list[dict]:
    main = config.main_listener(edge)
    https = next((lst for lst in edge.listeners if lst.protocol == "https"), None)
    out = []
    for lst in edge.listeners:
        if lst is main:
            continue
        redirect_port = lst.redirect.port if lst.redirect else None
        out.append({"protocol": Java(lst.protocol), "port": lst.port, "address": lst.address,
                    "property": config.listener_property(lst),
                    "address_property": config.listener_property(lst, "address"),
                    "redirect_port": redirect_port, "status": lst.redirect.status if lst.redirect else 0,
                    "redirect_property": config.listener_property(https) if https and https is not main
                    and redirect_port == https.port else "server.port"})
    return out


def emit_project(edge: ir.Edge, boot: str, package_option: str) -> dict[str, str]:
    from .names import Names
    names = Names(edge)
    package = package_name(edge, package_option)
    ctx = routes.RouteContext(edge, names, names.key_resolvers)
    spring_routes = routes.build_routes(ctx)
    java = _java_env()
    base = {"package": Java(package), "edge_name_comment": comment(edge.name)}
    src = "src/main/java/" + package.replace(".", "/") + "/"
    files: dict[str, str] = {}

    def render(template: str, **values) -> str:
        return java.get_template(template).render(**base, **values)

    upstreams = _upstream_context(edge, names) if config.uses_load_balancer(edge) else []
    files[src + "EdgeApplication.java"] = render(
        "EdgeApplication.java.j2", access_log=edge.observability.access_log.format != "off", upstreams=upstreams,
        connect_timeout_ms=config.client_connect_timeout_ms(edge) if edge.upstreams else None,
        any_least_conn=any(u["least_conn"] for u in upstreams), hsts=_hsts(edge),
        subject_header=_subject_header(edge), subject_header_comment=comment(_subject_header(edge) or ""))
    parameters = _parameters(edge, names, spring_routes)
    wrapped = parameters.replace(", ", ",\n            ") if len(parameters) > 60 else parameters
    static_imports, imports = _imports(spring_routes, parameters)
    route_views = [{
        "id": r.id, "order": r.order, "edge_route_comment": comment(r.edge_route),
        "note": r.note, "note_comment": Java(r.note.replace("*/", "")),
        "predicates_java": Java("\n                    .and().".join(r.predicates)),
        "filters": r.filters, "filters_java": Java("\n                        .".join(r.filters)),
        "metadata": r.metadata, "uri": r.uri} for r in spring_routes]
    # the routes are added by classes of ROUTES_PER_CLASS each: every route carries its order, so
    # how they are split changes nothing of which one SCG tries first
    chunks = [{"routes": route_views[i:i + ROUTES_PER_CLASS], "first": i + 1,
               "last": min(i + ROUTES_PER_CLASS, len(route_views))}
              for i in range(0, len(route_views), ROUTES_PER_CLASS)]
    passed = [p.split()[-2:] for p in parameters.split(", ")[1:]]  # (type, name), without @Qualifier
    files[src + "EdgeRoutes.java"] = render(
        "EdgeRoutes.java.j2", chunks=chunks, chunk_params=Java("".join(f",\n                {t} {n}" for t, n in passed)),
        chunk_args=Java("".join(f", {n}" for _, n in passed)), imports=[Java(i) for i in imports],
        static_imports=[Java(i) for i in static_imports], parameters=Java(wrapped),
        unchecked=any("setExceptions()" in str(f) for r in spring_routes for f in r.filters),
        env_comment=Java(f" (env {comment(edge.env)})" if edge.env else ""))
    # the client's address only where something reads it: every request of the others is spared it
    client_address = (not edge.access.empty or any(not r.access.empty for r in edge.routes)
                      or bool(names.key_resolvers)
                      or any(u["hash"] and u["hash_source"] == "client_ip" for u in upstreams))
    files[src + "EdgeMatching.java"] = render(
        "EdgeMatching.java.j2", trusted=literals(edge.trusted_proxies), edge_allow=literals(edge.access.allow),
        edge_deny=literals(edge.access.deny), client_address=client_address,
        max_body=edge.limits.max_body_bytes)
    files[src + "EdgeFilters.java"] = render("EdgeFilters.java.j2")
    if config.connection_idle_timeout_ms(edge) is not None or ctx.response_timeout_ms:
        files[src + "EdgeConnections.java"] = render(
            "EdgeConnections.java.j2", boot=boot, idle_timeout_ms=config.connection_idle_timeout_ms(edge),
            main_idle=config.idle_timeout_ms(edge) is not None, response_timeout_ms=ctx.response_timeout_ms)
    files[src + "EdgeIdentity.java"] = render("EdgeIdentity.java.j2", sane_id=ir.SANE_REQUEST_ID.pattern)
    needs = set()
    if names.key_resolvers:
        needs.add("redis")
        files[src + "EdgeRateLimits.java"] = render(
            "EdgeRateLimits.java.j2", uses_jwt=any(src_ == "claim" for src_, _ in names.key_resolvers),
            resolvers=[{"source": s, "name": n, "bean": Java(b)} for (s, n), b in names.key_resolvers.items()])
    if edge.auth:
        kinds = {a.kind for a in edge.auth}
        providers = _auth_context(edge, names)
        files[src + "EdgeSecurity.java"] = render(
            "EdgeSecurity.java.j2", providers=providers, has_jwt="jwt" in kinds, has_basic="basic" in kinds,
            has_api_key="api_key" in kinds, has_external="external" in kinds,
            has_require=any(not r.require.empty for r in edge.routes),
            deny_statuses=Java("List.of(" + ", ".join(map(str, ir.EXTERNAL_AUTH_DENY_STATUSES)) + ")"),
            error_status=ir.EXTERNAL_AUTH_ERROR_STATUS,
            has_hmac=any(p.get("hmac") for p in providers))
    if upstreams:
        files[src + "EdgeLoadBalancing.java"] = render(
            "EdgeLoadBalancing.java.j2", upstreams=upstreams, any_hash=any(u["hash"] for u in upstreams),
            any_least_conn=any(u["least_conn"] for u in upstreams),
            any_backup=any(s.backup for up in edge.upstreams for s in up.servers))
    if config.uses_subrequests(edge):
        files[src + "EdgeSubrequests.java"] = render("EdgeSubrequests.java.j2", boot=boot)
    listeners = _listener_context(edge)
    if listeners:
        files[src + "EdgeListeners.java"] = render("EdgeListeners.java.j2", listeners=listeners,
                                                   any_redirect=any(lst["redirect_port"] for lst in listeners),
                                                   edge_access=not edge.access.empty)
    if any(r.cache for r in edge.routes):
        needs.add("cache")
    files["src/main/resources/application.yml"] = config.application_yml(edge, names, needs)
    boot_version, cloud, scg = VERSIONS[boot]
    artifact = re.sub(r"[^a-z0-9-]+", "-", edge.name.lower())[:64].strip("-") + "-gateway"  # the jar's file name
    files["README.md"] = _text_env().get_template("README.md.j2").render(
        scg=scg, boot=boot_version, jar=f"{artifact}-0.0.1.jar", needs=_run_needs(edge),
        layout=[f"`{path.rsplit('/', 1)[-1]}`: {LAYOUT[path.rsplit('/', 1)[-1]]}" for path in files
                if path.rsplit("/", 1)[-1] in LAYOUT])
    files["pom.xml"] = _xml_env().get_template("pom.xml.j2").render(
        boot=boot_version, spring_cloud=cloud, scg=scg, edge_name=edge.name, group_id=package,
        artifact_id=artifact,
        dependencies=dependencies(edge))
    return dict(sorted(files.items()))

