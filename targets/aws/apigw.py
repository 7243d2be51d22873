"""IR → an HTTP API (API Gateway v2) in front of the load balancer: `-O gateway=apigw`.

Every request reaches the ALB through one VPC link, and the ALB's rules still decide the
route as routing.decide does (plan.py). API Gateway selects one of its own routes by
method and path only (exact paths first, then the longest greedy `{proxy+}` path, a
method over ANY, then `$default`); that route carries what the ALB cannot do: the JWT
authorizer, throttling, request-header mappings. So the pair decides as decide does
exactly when every request reaches an API Gateway route whose settings are those of the
route decide picks; `gateway_conflicts` proves that on a probe per route key and refuses
the edge at the route otherwise.
"""
from __future__ import annotations

import hashlib
import http
import json
from dataclasses import dataclass, field

from edgec import ir, routing

from . import direct as public
from .calls import Call, Origin, Ref, Words
from .errors import CANNOT, QUOTA, PlanError
from .names import jmespath_literal, waf_name

MAX_ROUTES = 300  # routes per API (service quota)
MAX_INTEGRATIONS = 300
MAX_AUTHORIZERS = 10
MAX_DOMAINS = 120  # custom domain names per account and region
MAX_MAPPINGS = 50  # parameter mappings per integration
# API Gateway maps response headers per status code, not per class: every registered one
STATUSES = tuple(str(s.value) for s in http.HTTPStatus if 200 <= s.value <= 599)
TIMEOUT_MS = (50, 30_000)  # an HTTP API integration's timeout
API_ID = "a1b2c3d4e5"
LISTENER_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/edge/0123456789abcdef/0123456789abcdef"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:edge"
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
STAGE = "$default"
# the JSON access-log fields of the other targets, from API Gateway's $context variables
ACCESS_LOG = {"time": "$context.requestTime", "request_id": "$context.requestId",
              "remote_addr": "$context.identity.sourceIp", "method": "$context.httpMethod",
              "uri": "$context.path", "protocol": "$context.protocol", "status": "$context.status",
              "bytes_sent": "$context.responseLength", "duration_ms": "$context.responseLatency",
              "host": "$context.domainName", "route": "$context.routeKey",
              "upstream_status": "$context.integrationStatus", "user_agent": "$context.identity.userAgent"}


@dataclass
class ApiAuthorizer:
    name: str
    tag: str  # the API tag that remembers its id (API Gateway finds authorizers by id only)
    create: Call
    update: Call


@dataclass
class ApiIntegration:
    route: str
    description: str  # how deploy.sh finds it again
    create: Call
    update: Call
    # JMESPath true when an existing integration's response mappings are the wanted ones: an
    # update may merge mappings rather than replace them, so other ones mean a new integration
    same_responses: str = ""


@dataclass
class ApiRoute:
    key: str
    route: str  # the edgec route whose settings it carries
    var: str  # the shell variable of its integration's id
    authorizer: str | None
    create: Call
    update: Call


@dataclass
class ApiDomain:
    """A custom domain name for a host the routes name, mapped to the API's $default stage."""

    name: str
    create: Call
    update: Call  # its certificate, when the certificate input changed
    mapping: Call


@dataclass
class HttpApi:
    name: str
    create: Call
    update: Call
    tag: Call
    vpc_link_name: str
    vpc_link: Call
    authorizers: list[ApiAuthorizer] = field(default_factory=list)
    integrations: list[ApiIntegration] = field(default_factory=list)
    routes: list[ApiRoute] = field(default_factory=list)
    domains: list[ApiDomain] = field(default_factory=list)
    stage: Call | None = None
    stage_fingerprint: str = ""
    delete_stage: Call | None = None
    delete_route: Call | None = None
    delete_integration: Call | None = None
    delete_authorizer: Call | None = None
    delete_cors: Call | None = None  # when no route has cors: an earlier build's configuration goes

    def calls(self) -> list[Call]:
        out = [self.create, self.update, self.tag, self.vpc_link, self.stage, self.delete_stage, self.delete_route,
               self.delete_integration, self.delete_authorizer, self.delete_cors]
        for a in self.authorizers:
            out += [a.create, a.update]
        for i in self.integrations:
            out += [i.create, i.update]
        for r in self.routes:
            out += [r.create, r.update]
        for d in self.domains:
            out += [d.create, d.update, d.mapping]
        return [c for c in out if c is not None]


@dataclass
class ApiTeardown:
    """The HTTP API and VPC link of this edge and env, found by name: destroy.sh deletes them, and
    so does deploy.sh of a build without API Gateway (one built with it may have made them)."""

    name: str
    edge: str
    env: str
    delete_api: Call
    delete_vpc_link: Call
    delete_mapping: Call
    delete_domain: Call

    def calls(self) -> list[Call]:
        return [self.delete_api, self.delete_vpc_link, self.delete_mapping, self.delete_domain]

    @property
    def owned_domains(self) -> str:
        """JMESPath over get-domain-names: the custom domains tagged with this edge and env (read
        only once the model accepted the tag values, which cannot hold quotes)."""
        return (f'Items[?Tags."edgec:edge"=={jmespath_literal(self.edge)} && '
                f'Tags."edgec:env"=={jmespath_literal(self.env)}].DomainName')


def api_name(edge: ir.Edge) -> str:
    return waf_name("edgec", edge.name, edge.env or "")


def teardown(edge: ir.Edge) -> ApiTeardown:
    origin = Origin("destroy")
    domain = Ref("domain", "api.example.com")
    return ApiTeardown(api_name(edge), edge.name, edge.env or "",
                       Call("apigatewayv2", "DeleteApi", {"ApiId": Ref("api", API_ID)}, origin),
                       Call("apigatewayv2", "DeleteVpcLink", {"VpcLinkId": Ref("vpc_link", "abc123")}, origin),
                       Call("apigatewayv2", "DeleteApiMapping",
                            {"ApiMappingId": Ref("id", "abc123"), "DomainName": domain}, origin),
                       Call("apigatewayv2", "DeleteDomainName", {"DomainName": domain}, origin))


def domains(edge: ir.Edge, api: Ref, tags: dict[str, str]) -> list[ApiDomain]:
    """A custom domain per exact host the routes name, when the edge serves HTTPS (so that the
    certificate input is given): API Gateway presents that certificate for the host."""
    if not any(lst.protocol == "https" for lst in edge.listeners):
        return []
    first: dict[str, ir.Route] = {}
    for route in edge.routes:
        for host in (h for m in route.matches for h in m.hosts if "*" not in h):
            first.setdefault(host, route)
    if len(first) > MAX_DOMAINS:
        over = first[sorted(first)[MAX_DOMAINS]]
        raise PlanError(QUOTA, f"this edge names {len(first)} hosts; an account has at most {MAX_DOMAINS} API "
                               f"Gateway custom domain names per region", over.span)
    config = [{"CertificateArn": Ref("aws_certificate", CERT_ARN), "EndpointType": "REGIONAL",
               "SecurityPolicy": "TLS_1_2"}]
    out = []
    for host in sorted(first):
        origin = Origin(f"the custom domain name {host}", first[host].span)
        out.append(ApiDomain(
            host,
            Call("apigatewayv2", "CreateDomainName",
                 {"DomainName": host, "DomainNameConfigurations": config, "Tags": tags}, origin),
            Call("apigatewayv2", "UpdateDomainName", {"DomainName": host, "DomainNameConfigurations": config},
                 origin),
            Call("apigatewayv2", "CreateApiMapping", {"ApiId": api, "DomainName": host, "Stage": STAGE}, origin)))
    return out


# ---- route keys ---------------------------------------------------------------------------

def route_keys(match: ir.Match, span) -> list[str]:
    """The API Gateway route keys that together select what `match` selects by method and path."""
    path = match.path
    if path.type == "regex":
        raise PlanError(CANNOT, "API Gateway routes cannot match a path by regular expression", span)
    if any(c in path.value for c in "{}+") or " " in path.value:
        raise PlanError(CANNOT, f"API Gateway reads {{, }} and + in the route path {path.value!r} as path variables",
                        span)
    methods = match.methods or ("ANY",)
    if path.type == "exact":
        paths = [path.value]
    else:
        base = routing.strip_slash(path.value)
        if not base and not match.methods:
            return ["$default"]
        paths = [base or "/", base + "/{proxy+}"]
    return [f"{m} {p}" for p in paths for m in methods]


def gateway_settings(route: ir.Route, direct: dict[str, ir.Upstream]) -> tuple:
    """What API Gateway does for a route before the ALB sees the request, and the public
    upstream it sends the request to instead of the ALB (direct: route name → upstream)."""
    up = direct.get(route.name)
    return (route.auth, route.rate_limit, route.request_headers, route.response_headers, route.cors,
            route.timeouts.request_ms, up.name if up else None)


def select(keys: list[str], method: str, path: str) -> str | None:
    """API Gateway's choice among route keys (its documented order): a full match of path and
    method, else the longest greedy path, a method over ANY; `$default` last."""
    best, rank = None, None
    for key in keys:
        if key == "$default":
            continue
        k_method, k_path = key.split(" ", 1)
        if k_method not in (method, "ANY"):
            continue
        if k_path.endswith("/{proxy+}"):
            base = k_path[:-len("/{proxy+}")]
            if not (path.startswith(base + "/") and len(path) > len(base) + 1):
                continue
            r = (0, len(base), k_method != "ANY")
        elif k_path == path:
            r = (1, len(k_path), k_method != "ANY")
        else:
            continue
        if rank is None or r > rank:
            best, rank = key, r
    return best if best is not None else ("$default" if "$default" in keys else None)


def _owners(edge: ir.Edge, direct: dict[str, ir.Upstream]) -> dict[str, ir.Route]:
    """Route key → the route whose settings it carries: the first in first-match order."""
    owners: dict[str, ir.Route] = {}
    for alt in routing.first_match_order(edge):
        for key in route_keys(alt.match, alt.match.span or alt.route.span):
            other = owners.setdefault(key, alt.route)
            if other is not alt.route and gateway_settings(other, direct) != gateway_settings(alt.route, direct):
                raise PlanError(CANNOT, f"API Gateway selects routes by method and path only: routes "
                                        f"'{other.name}' and '{alt.route.name}' both need the route key "
                                        f"'{key}' but differ in authorizer, throttling, header mappings, CORS "
                                        f"or a public upstream",
                                alt.match.span or alt.route.span,
                                hint="give them the same auth, rate_limit, request_header, response_header, "
                                     "timeout, cors and public upstream, or distinct paths")
    return owners


def _probes(keys, edge: ir.Edge):
    methods = sorted({m for r in edge.routes for mt in r.matches for m in mt.methods} | {"GET"})
    for key in keys:
        path = "/edgec-probe" if key == "$default" else key.split(" ", 1)[1].replace("{proxy+}", "edgec-probe")
        for m in methods:
            yield m, path


def gateway_conflicts(edge: ir.Edge, owners: dict[str, ir.Route], direct: dict[str, ir.Upstream]) -> None:
    """Refuse the edge when a request would get another route's API Gateway settings (or
    public upstream) than the route decide picks (the ALB's host, header and query conditions
    are invisible to API Gateway)."""
    keys = list(owners)
    for lst in edge.listeners:
        if lst.redirect:
            continue
        hosts = sorted({h for r in edge.routes for m in r.matches for h in m.hosts if "*" not in h}) or [""]
        for host in hosts:
            for method, path in _probes(keys, edge):
                chosen = select(keys, method, path)
                req = routing.Request(method, lst.protocol, host, lst.port, path)
                decision = routing.decide(edge, req)
                picked = edge.route(decision.route) if decision.route else None
                owner = owners.get(chosen) if chosen else None
                if picked is None:  # the ALB answers 404, unless the authorizer answers 401 first
                    bad = owner is not None and (owner.auth is not None or owner.name in direct)
                else:
                    bad = owner is None or gateway_settings(owner, direct) != gateway_settings(picked, direct)
                if bad:
                    where = picked or owner
                    raise PlanError(CANNOT, f"API Gateway would apply the settings of "
                                            f"{('route ' + repr(owner.name)) if owner else 'no route'} "
                                            f"to {method} {path}, which "
                                            f"{('route ' + repr(picked.name)) if picked else 'no route'} answers",
                                    where.span, hint="API Gateway cannot select by host, header or query: give "
                                                     "routes that differ only there the same auth, rate_limit, "
                                                     "request_header, response_header, timeout, cors and "
                                                     "public upstream")


# ---- the resources -------------------------------------------------------------------------

def _mapping_value(value: str, route: ir.Route) -> str:
    if "$" in value:
        raise PlanError(CANNOT, f"API Gateway reads '$' in the header value {value!r} as a request variable",
                        route.span)
    return value


def header_mappings(ops: ir.HeaderOps, route: ir.Route) -> dict[str, str]:
    """Header operations as API Gateway parameter mappings (request or response alike)."""
    out = {}
    for name, value in ops.set:
        out[f"overwrite:header.{name}"] = _mapping_value(value, route)
    for name, value in ops.add:
        out[f"append:header.{name}"] = _mapping_value(value, route)
    for name in ops.remove:
        out[f"remove:header.{name}"] = "''"
    if len(out) > MAX_MAPPINGS:
        raise PlanError(QUOTA, f"an API Gateway integration has at most {MAX_MAPPINGS} parameter mappings",
                        route.span)
    return out


def request_parameters(route: ir.Route, to_url: bool = False) -> dict[str, str]:
    """`to_url`: the integration sends to a public URL without a path, so the request's own
    path is mapped onto it (as the load balancer would forward it)."""
    out = header_mappings(route.request_headers, route)
    if to_url:
        if len(out) == MAX_MAPPINGS:
            raise PlanError(QUOTA, f"an API Gateway integration has at most {MAX_MAPPINGS} parameter mappings, "
                                   "one of them the path sent to the public upstream", route.span)
        out["overwrite:path"] = "$request.path"
    return out


def response_parameters(route: ir.Route) -> dict[str, dict[str, str]]:
    """The route's response header operations on every status code API Gateway can map."""
    mappings = header_mappings(route.response_headers, route)
    return {status: mappings for status in STATUSES} if mappings else {}


def _same_responses(wanted: dict) -> str:
    literal = json.dumps(wanted, sort_keys=True, separators=(",", ":")).replace("`", "\\`")
    return f"(ResponseParameters || `{{}}`) == `{literal}`"


def _cors(edge: ir.Edge) -> dict | None:
    configs = {r.cors for r in edge.routes if r.cors}
    if not configs:
        return None
    if len(configs) > 1 or any(r.cors is None for r in edge.routes):
        first = next(r for r in edge.routes if r.cors)
        raise PlanError(CANNOT, "an HTTP API has one CORS configuration for every route; this edge's routes "
                                "differ in cors", first.span, hint="give every route the same cors block")
    c = configs.pop()
    return {"AllowOrigins": list(c.origins), "AllowMethods": list(c.methods), "AllowHeaders": list(c.headers),
            "ExposeHeaders": list(c.expose), "AllowCredentials": c.credentials, "MaxAge": min(c.max_age_s, 86400)}


def _scopes(route: ir.Route) -> dict:
    """The route's AuthorizationScopes: API Gateway lets a token through that grants any one of
    them (403 otherwise), which is edgec's rule only for a single scope."""
    scopes = route.require.scopes
    if len(scopes) > 1:
        raise PlanError(CANNOT, f"route '{route.name}' requires {len(scopes)} scopes, and API Gateway lets a token "
                                "through that grants any one of a route's authorization scopes, not every one",
                        route.span, hint="require one scope per route on this profile, or use another target")
    return {"AuthorizationScopes": list(scopes)} if scopes else {}


def _authorizer(auth: ir.Auth, api: Ref, tags_span) -> ApiAuthorizer:
    if not isinstance(auth, ir.JwtAuth) or not auth.issuer or auth.secret is not None:
        raise PlanError(CANNOT, "an HTTP API JWT authorizer checks RSA-signed tokens against an issuer's "
                                "published keys, not a shared secret or another kind of auth", tags_span,
                        hint="give `issuer` and `jwks`, algorithms RS256")
    if not auth.audiences:
        raise PlanError(CANNOT, "an HTTP API JWT authorizer needs at least one audience", auth.span,
                        hint="add `audience`")
    origin = Origin(f"the JWT authorizer of auth '{auth.name}'", auth.span)
    spec = {"AuthorizerType": "JWT", "IdentitySource": [f"$request.header.{auth.header}"],
            "JwtConfiguration": {"Issuer": auth.issuer, "Audience": list(auth.audiences)}, "Name": auth.name}
    return ApiAuthorizer(auth.name, f"edgec:authorizer:{auth.name}",
                         Call("apigatewayv2", "CreateAuthorizer", {"ApiId": api, **spec}, origin,
                              query="AuthorizerId"),
                         Call("apigatewayv2", "UpdateAuthorizer",
                              {"ApiId": api, "AuthorizerId": Ref("authorizer", "abc123"), **spec}, origin))


def throttling(rate: ir.RateLimit) -> dict:
    """A stage route setting: one token bucket per route, shared by every client."""
    return {"ThrottlingRateLimit": rate.count / rate.window_s, "ThrottlingBurstLimit": max(1, rate.burst)}


def _destination(route: ir.Route, listener_var: str, direct: dict[str, ir.Upstream]) -> tuple[str, dict]:
    """The integration's description (how deploy.sh finds it again: a new destination is a new
    integration, and the old one is deleted as stale) and where it sends the request."""
    up = direct.get(route.name)
    if up is None:
        return f"edgec route {route.name}", {
            "ConnectionType": "VPC_LINK", "ConnectionId": Ref("vpc_link", "abc123"),
            "IntegrationUri": Ref(listener_var, LISTENER_ARN)}
    url = public.uri(up)
    return f"edgec route {route.name} to {url}", {
        "ConnectionType": "INTERNET", "IntegrationUri": url,
        "TlsConfig": {"ServerNameToVerify": public.server_name(up)}}


def build(edge: ir.Edge, listener_var: str, tags: list[dict], direct: dict[str, ir.Upstream]) -> HttpApi:
    """`direct`: route name → the public upstream its integration sends requests to."""
    tag_map = {t["Key"]: t["Value"] for t in tags}
    name = api_name(edge)
    api = Ref("api", API_ID)
    origin = Origin("the HTTP API")
    spec: dict = {"Name": name}
    cors = _cors(edge)
    if cors:
        spec["CorsConfiguration"] = cors
    api_arn = Ref("api_arn", f"arn:aws:apigateway:us-east-1::/apis/{API_ID}")
    out = HttpApi(
        name,
        Call("apigatewayv2", "CreateApi", {**spec, "ProtocolType": "HTTP", "Tags": tag_map}, origin, query="ApiId"),
        Call("apigatewayv2", "UpdateApi", {"ApiId": api, **spec}, origin),
        Call("apigatewayv2", "TagResource", {"ResourceArn": api_arn, "Tags": tag_map}, origin),
        name,
        Call("apigatewayv2", "CreateVpcLink", {
            "Name": name, "SubnetIds": Words("aws_subnets", ("subnet-0123456789abcdef0",)),
            "SecurityGroupIds": Words("aws_security_groups", ("sg-0123456789abcdef0",)), "Tags": tag_map},
            Origin("the VPC link"), query="VpcLinkId"))
    used_auth = sorted({r.auth for r in edge.routes if r.auth})
    out.authorizers = [_authorizer(edge.auth_provider(a), api, edge.auth_provider(a).span) for a in used_auth]
    if len(out.authorizers) > MAX_AUTHORIZERS:
        raise PlanError(QUOTA, f"an HTTP API has at most {MAX_AUTHORIZERS} authorizers", edge.routes[0].span)
    owners = _owners(edge, direct)
    gateway_conflicts(edge, owners, direct)
    if len(owners) > MAX_ROUTES:
        raise PlanError(QUOTA, f"this edge needs {len(owners)} API Gateway routes; an HTTP API has at most "
                               f"{MAX_ROUTES}", edge.routes[0].span)
    integration_var = {}
    for route in (r for r in edge.routes if r in owners.values()):
        var = f"integration_{len(integration_var) + 1}"
        integration_var[route.name] = var
        origin = Origin(f"the integration of route '{route.name}'", route.span)
        description, destination = _destination(route, listener_var, direct)
        ispec = {"IntegrationType": "HTTP_PROXY", "IntegrationMethod": "ANY", **destination,
                 "PayloadFormatVersion": "1.0", "Description": description}
        if route.timeouts.request_ms:
            if route.timeouts.request_ms > TIMEOUT_MS[1]:
                raise PlanError(QUOTA, f"an HTTP API waits at most {TIMEOUT_MS[1] // 1000} s for an integration, "
                                       f"not {route.timeouts.request_ms / 1000:g} s", route.span)
            ispec["TimeoutInMillis"] = max(TIMEOUT_MS[0], route.timeouts.request_ms)
        params = request_parameters(route, route.name in direct)
        if params:
            ispec["RequestParameters"] = params
        responses = response_parameters(route)
        if responses:
            ispec["ResponseParameters"] = responses
        out.integrations.append(ApiIntegration(
            route.name, ispec["Description"],
            Call("apigatewayv2", "CreateIntegration", {"ApiId": api, **ispec}, origin, query="IntegrationId"),
            Call("apigatewayv2", "UpdateIntegration",
                 {"ApiId": api, "IntegrationId": Ref(var, "abc123"), **ispec}, origin),
            _same_responses(responses)))
    route_settings = {}
    for key, route in owners.items():
        origin = Origin(f"the API Gateway route '{key}' of route '{route.name}'", route.span)
        var = integration_var[route.name]
        rspec: dict = {"RouteKey": key, "Target": Ref(f"{var}_target", "integrations/abc123")}
        if route.auth:
            rspec.update(AuthorizationType="JWT", AuthorizerId=Ref(f"authorizer_{used_auth.index(route.auth)}",
                                                                   "abc123"))
            rspec.update(_scopes(route))
        else:
            rspec["AuthorizationType"] = "NONE"
        out.routes.append(ApiRoute(
            key, route.name, var, route.auth,
            Call("apigatewayv2", "CreateRoute", {"ApiId": api, **rspec}, origin),
            Call("apigatewayv2", "UpdateRoute", {"ApiId": api, "RouteId": Ref("route", "abc123"), **rspec}, origin)))
        if route.rate_limit:
            route_settings[key] = throttling(route.rate_limit)
    stage: dict = {"ApiId": api, "StageName": STAGE, "AutoDeploy": True}
    if edge.observability.access_log.format != "off":
        stage["AccessLogSettings"] = {"DestinationArn": Ref("aws_log_group", LOG_GROUP),
                                      "Format": json.dumps(ACCESS_LOG, separators=(",", ":"))}
    if route_settings:
        stage["RouteSettings"] = route_settings
    fingerprint = hashlib.sha256(json.dumps(
        {k: v for k, v in stage.items() if k != "ApiId"}, sort_keys=True, default=str).encode()).hexdigest()[:16]
    out.stage_fingerprint = fingerprint
    out.stage = Call("apigatewayv2", "CreateStage",
                     {**stage, "Tags": {**tag_map, "edgec:settings": fingerprint}}, Origin("the $default stage"))
    cleanup = Origin("destroy")
    out.delete_stage = Call("apigatewayv2", "DeleteStage", {"ApiId": api, "StageName": STAGE}, cleanup)
    out.delete_route = Call("apigatewayv2", "DeleteRoute", {"ApiId": api, "RouteId": Ref("id", "abc123")}, cleanup)
    out.delete_integration = Call("apigatewayv2", "DeleteIntegration",
                                  {"ApiId": api, "IntegrationId": Ref("id", "abc123")}, cleanup)
    out.delete_authorizer = Call("apigatewayv2", "DeleteAuthorizer",
                                 {"ApiId": api, "AuthorizerId": Ref("id", "abc123")}, cleanup)
    out.domains = domains(edge, api, tag_map)
    if cors is None:
        out.delete_cors = Call("apigatewayv2", "DeleteCorsConfiguration", {"ApiId": api}, origin)
    return out
