"""The IR: what an edge does, with every default applied and every unit normalised.

Plain frozen dataclasses. Durations are milliseconds (`*_ms`), rates are a count per
window in seconds, sizes are bytes. A target or the runtime reads the IR and never
invents a default of its own: if a value matters, it is here.

Every node serialises to JSON with `to_json()`; `edgec/schema.py` derives the JSON
Schema from these classes, and `edgec schema` prints it. `span` fields say where in
the source a node came from (for diagnostics); they are not part of the JSON.
"""
from __future__ import annotations

import functools
import operator
import re
from dataclasses import field, fields, is_dataclass
from typing import Any, Literal

from .diagnostics import Span
from .keptcode import frozen

IR_VERSION = 1

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
# a header (or cookie) name: an HTTP token (RFC 9110 5.1)
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# the request id every target passes on (the client's when sane, else its own), to the backend
# and back: the edge's, never a route's (docs/semantics.md, identity)
REQUEST_ID_HEADER = "X-Request-Id"
# a client's request id the edge passes on; any other is replaced by one the edge makes
_ID_CHARACTERS, _ID_LONGEST = "A-Za-z0-9._:-", 128
SANE_REQUEST_ID = re.compile(f"[{_ID_CHARACTERS}]{{1,{_ID_LONGEST}}}")
# which ids SANE_REQUEST_ID passes, in the words of a message
SANE_REQUEST_ID_WORDS = f"1-{_ID_LONGEST} of {_ID_CHARACTERS}"
# a host name, or a wildcard `*.` in front of one
HOST_LABEL = re.compile(r"^(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$")


def _node(cls):
    """A frozen dataclass (edgec.keptcode.frozen) whose __eq__, __hash__ and __repr__ mean what
    @dataclass's do, written once here: compiling the ~130 that @dataclass generates for the
    IR's classes cost ~20 ms of every start (a fifth of `edgec lint` on a sample,
    bench/results/compile.md)."""
    cls = frozen(cls)
    for name, method in (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr)):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    return cls


@functools.cache
def _shown(cls) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields equality and hashing compare, and those repr shows."""
    return (tuple(f.name for f in fields(cls) if f.compare),
            tuple(f.name for f in fields(cls) if f.repr))


def _key(node) -> tuple:
    getter = _KEYS.get(node.__class__)
    if getter is None:
        names = _shown(node.__class__)[0]
        # attrgetter reads them in C, where a generator of getattr costs ~1 us per node hashed
        # (lowering hashes every node it makes once, Values.node); it gives one name's value bare
        getter = _KEYS[node.__class__] = operator.attrgetter(*names) if len(names) > 1 else \
            (lambda n, get=operator.attrgetter(*names): (get(n),)) if names else (lambda n: ())
    return getter(node)


_KEYS: dict[type, Any] = {}  # class -> what _key reads of its nodes


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _key(self) == _key(other)


def _hash(self):
    return hash(_key(self))


def _repr(self):
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _shown(self.__class__)[1])
    return f"{self.__class__.__qualname__}({shown})"


def _span() -> Any:
    return field(default=None, compare=False, repr=False, metadata={"json": False})


@_node
class Secret:
    """A reference to a secret resolved at build or run time (never its value)."""

    secret: str  # the name: read from the environment variable NAME, or <secrets dir>/NAME

    def __str__(self) -> str:
        return "${secret:" + self.secret + "}"


# ---- listeners -----------------------------------------------------------------------

@_node
class Tls:
    cert: str
    key: str
    min_version: Literal["1.2", "1.3"] = "1.2"


@_node
class ClientCert:
    """Client certificates (mutual TLS) on a TLS listener: verified against the CA bundle. A
    connection with an untrusted certificate, or (when required) none, is refused; the
    verified certificate's subject (RFC 4514, e.g. "CN=billing,O=Example") reaches the upstream
    in `header`, and the client's own value of that header never does."""

    ca: str  # PEM file of the certificates a client's chain must end in
    required: bool = True
    header: str | None = None


@_node
class HttpsRedirect:
    port: int  # the HTTPS port the client is sent to (omitted from Location when 443)
    status: int = 301


@_node
class Hsts:
    """Strict-Transport-Security (RFC 6797) on every response of a TLS listener."""

    max_age_s: int
    include_subdomains: bool
    preload: bool

    @property
    def header_value(self) -> str:
        return (f"max-age={self.max_age_s}" + ("; includeSubDomains" if self.include_subdomains else "")
                + ("; preload" if self.preload else ""))


@_node
class Listener:
    protocol: Literal["http", "https"]
    port: int
    address: str = "0.0.0.0"
    tls: Tls | None = None
    http2: bool = False
    redirect: HttpsRedirect | None = None  # every request on this listener is redirected to HTTPS
    # `edgec run` makes a self-signed certificate and key at the tls paths when neither exists
    # (for development); what a build writes uses the files as they are
    self_signed: bool = False
    hsts: Hsts | None = None
    client_cert: ClientCert | None = None
    span: Span | None = _span()


# ---- upstreams -----------------------------------------------------------------------

@_node
class Server:
    host: str
    port: int
    weight: int = 1
    backup: bool = False
    service: bool = False  # `host` names a Kubernetes Service of the edge's namespace (a DNS name elsewhere)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@_node
class HashKey:
    source: Literal["header", "cookie", "client_ip", "uri"]
    name: str | None = None  # header or cookie name


@_node
class HealthCheck:
    method: Literal["GET", "HEAD"]
    path: str
    interval_ms: int
    timeout_ms: int
    unhealthy_threshold: int
    healthy_threshold: int
    expect_status: tuple[int, int] = (200, 399)


@_node
class PassiveCheck:
    max_fails: int  # consecutive failures that eject a server; 0 disables ejection
    fail_timeout_ms: int  # the window failures are counted in, and how long a server stays out
    # answers of a server that count as failures, as a connect error, reset or timeout does
    statuses: tuple[int, ...] = ()


@_node
class Sticky:
    cookie: str
    ttl_ms: int  # 0: a session cookie
    path: str = "/"


@_node
class Keepalive:
    connections: int  # idle keep-alive connections kept per upstream (per process)
    idle_timeout_ms: int


@_node
class UpstreamTimeouts:
    connect_ms: int
    read_ms: int
    send_ms: int


@_node
class UpstreamTls:
    """TLS to an upstream's servers (Gateway API BackendTLSPolicy): the server's certificate must
    chain to `ca` and name `sni` (sent as SNI; the server's host when not given), unless
    `verify` is off; a server that fails the check is a failed connection (502)."""

    ca: str | None  # PEM bundle; None only with verify off
    sni: str | None
    verify: bool = True
    cert: str | None = None  # the edge's client certificate and key, when the servers ask for one
    key: str | None = None


@_node
class CircuitBreaker:
    """At most `max_connections` requests hold a connection to the upstream's servers at once
    (all servers together, per process or proxy); up to `max_pending` more wait for one, in
    arrival order; a request beyond those is answered 503 at once."""

    max_connections: int
    max_pending: int


@_node
class Upstream:
    name: str
    servers: tuple[Server, ...]
    balance: Literal["round_robin", "least_conn", "ip_hash", "hash", "random"]
    hash_key: HashKey | None
    health: HealthCheck | None
    passive: PassiveCheck
    sticky: Sticky | None
    keepalive: Keepalive
    timeouts: UpstreamTimeouts
    tls: UpstreamTls | None = None
    circuit_breaker: CircuitBreaker | None = None
    span: Span | None = _span()


# ---- auth ------------------------------------------------------------------------------

@_node
class JwtAuth:
    name: str
    kind: Literal["jwt"]
    issuer: str | None
    jwks_url: str | None
    secret: Secret | None  # HMAC key, for HS* algorithms
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...]
    leeway_ms: int
    header: str = "Authorization"  # where the bearer token is read from
    span: Span | None = _span()


@_node
class BasicAuth:
    name: str
    kind: Literal["basic"]
    htpasswd: str | Secret  # path of an htpasswd file (bcrypt or SHA1 entries)
    realm: str
    span: Span | None = _span()


@_node
class ApiKeyAuth:
    name: str
    kind: Literal["api_key"]
    header: str
    keys_file: str | None  # one key per line, '#' comments allowed
    keys: tuple[Secret, ...]
    span: Span | None = _span()


@_node
class ExternalAuth:
    """An authorization service asked about every request (nginx auth_request, Envoy ext_authz).

    The check request carries the client's method, the service's path followed by the client's
    path and query, `Authorization` and the `forward_headers`, and no body. A 2xx answer lets the
    request through with the `copy_headers` of that answer set on it (the client's own values of
    those headers never reach the upstream); 401 and 403 are the client's answer; any other
    answer, no answer within the timeout, or no connection is EXTERNAL_AUTH_ERROR_STATUS."""

    name: str
    kind: Literal["external"]
    host: str
    port: int
    path: str  # the check request's path starts with it ("" or "/..." without a trailing "/")
    forward_headers: tuple[str, ...]
    copy_headers: tuple[str, ...]
    timeout_ms: int
    span: Span | None = _span()

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def service(self) -> Upstream:
        """The service as a pool of one server that waits at most the timeout and never ejects it
        (its failures are answered, see the class)."""
        t = self.timeout_ms
        return Upstream(name=f"auth.{self.name}",  # a dot: no upstream of the source is named so
                        servers=(Server(self.host, self.port),), balance="round_robin", hash_key=None, health=None,
                        passive=PassiveCheck(max_fails=0, fail_timeout_ms=0), sticky=None,
                        keepalive=Keepalive(connections=16, idle_timeout_ms=DEFAULT_KEEPALIVE_IDLE_MS),
                        timeouts=UpstreamTimeouts(connect_ms=t, read_ms=t, send_ms=t))

    @property
    def check_headers(self) -> tuple[str, ...]:
        """The request headers the check carries: Authorization, then the forward_headers."""
        return ("Authorization", *(h for h in self.forward_headers if h.lower() != "authorization"))


Auth = JwtAuth | BasicAuth | ApiKeyAuth | ExternalAuth


# ---- routes ------------------------------------------------------------------------------

@_node
class PathMatch:
    type: Literal["exact", "prefix", "regex"]
    value: str


@_node
class ValueMatch:
    """A header or query parameter condition. Header names are compared case-insensitively,
    query names exactly; values exactly (`exact`), by a full-match regex (`regex`), or only
    for presence (`present`)."""

    name: str
    type: Literal["exact", "regex", "present"]
    value: str | None = None


@_node
class Match:
    path: PathMatch  # always set: no path condition means prefix "/"
    hosts: tuple[str, ...] = ()  # empty: any host; "*.example.com" matches any subdomain depth
    methods: tuple[str, ...] = ()  # empty: any method
    headers: tuple[ValueMatch, ...] = ()
    query: tuple[ValueMatch, ...] = ()
    span: Span | None = _span()


@_node
class RateLimitKey:
    source: Literal["client_ip", "header", "claim"]
    name: str | None = None


@_node
class RateLimit:
    count: int  # requests allowed per window
    window_s: int
    key: RateLimitKey
    burst: int  # extra requests accepted at once above the steady rate
    status: int = 429

    @property
    def retry_after_s(self) -> int:
        """The Retry-After of a refused request: the whole seconds until the bucket holds a
        request again (one request's share of the window), at least 1."""
        return max(1, -(-self.window_s // self.count))

    def refusal_headers(self, policy: str) -> tuple[tuple[str, str], ...]:
        """The headers of a refused request: Retry-After, and the limit as the IETF draft's
        RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10, Structured
        Field lists) name it: `policy` (a route name: letters, digits, - and _, nothing to
        escape in an sf-string) allows `count` per `window_s` seconds, and none is left for
        Retry-After seconds."""
        after = str(self.retry_after_s)
        return (("Retry-After", after), ("RateLimit-Policy", f'"{policy}";q={self.count};w={self.window_s}'),
                ("RateLimit", f'"{policy}";r=0;t={after}'))


@_node
class Cache:
    ttl_ms: int
    methods: tuple[str, ...]
    key: tuple[str, ...]  # request parts that make the cache key, in order
    vary: tuple[str, ...]  # request header names that also key the entry


@_node
class HeaderOps:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()  # appended to an existing value as a comma list
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.set or self.add or self.remove)


@_node
class PathRewrite:
    """`prefix`: the leading path elements `match` are replaced by `replacement` (Gateway API
    ReplacePrefixMatch; an empty replacement strips them). `full`: the path becomes `replacement`."""

    type: Literal["prefix", "full"]
    replacement: str
    match: str | None = None


@_node
class Rewrite:
    path: PathRewrite | None = None
    host: str | None = None


@_node
class Cors:
    origins: tuple[str, ...]  # "*" allows any origin
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    credentials: bool
    max_age_s: int


@_node
class Access:
    """Which client addresses (found past the trusted proxies) may send a request: one inside
    a `deny` network is refused with 403, and so, when `allow` is not empty, is one outside
    every `allow` network. Deny wins whatever the order written. Networks in canonical form."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.allow or self.deny)


@_node
class ClaimRequirement:
    """One `require claim` line: the verified token's claim `name` must be a string equal to
    one of `values`, or an array holding such a string."""

    name: str
    values: tuple[str, ...]
    span: Span | None = _span()


@_node
class Requirements:
    """What a route's verified JWT must carry besides being valid (routing.authorized): every
    claim line holds and every scope is granted. A valid token that falls short is answered
    403, never 401."""

    claims: tuple[ClaimRequirement, ...] = ()
    scopes: tuple[str, ...] = ()  # all of them, in the order first written

    @property
    def empty(self) -> bool:
        return not (self.claims or self.scopes)


@_node
class Timeouts:
    request_ms: int  # the whole request, retries included; 0: no limit
    per_try_ms: int  # one attempt at one server; 0: the upstream's read timeout


@_node
class Retry:
    attempts: int  # retries after the first try; 0: never retry
    statuses: tuple[int, ...]  # response codes that are retried
    connect_errors: bool  # connection failures and timeouts are retried
    backoff_ms: int
    methods: tuple[str, ...] = ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")  # idempotent only


@_node
class Mirror:
    upstream: str
    percent: float


@_node
class Backend:
    upstream: str
    weight: int


@_node
class Forward:
    type: Literal["forward"]
    backends: tuple[Backend, ...]


@_node
class Redirect:
    """Gateway API RequestRedirect. None means "keep the request's": scheme, host, port
    (then derived as the spec says) and path."""

    type: Literal["redirect"]
    status: int
    scheme: Literal["http", "https"] | None = None
    host: str | None = None
    port: int | None = None
    path: PathRewrite | None = None


@_node
class Respond:
    type: Literal["respond"]
    status: int
    body: str
    content_type: str


@_node
class AggregatePart:
    name: str
    method: str
    upstream: str
    path: str
    timeout_ms: int


@_node
class Aggregate:
    type: Literal["aggregate"]
    parts: tuple[AggregatePart, ...]


Action = Forward | Redirect | Respond | Aggregate


@_node
class Route:
    name: str
    matches: tuple[Match, ...]
    action: Action
    auth: str | None = None
    rate_limit: RateLimit | None = None
    cache: Cache | None = None
    request_headers: HeaderOps = HeaderOps()
    response_headers: HeaderOps = HeaderOps()
    rewrite: Rewrite = Rewrite()
    cors: Cors | None = None
    timeouts: Timeouts = Timeouts(0, 0)
    retry: Retry = Retry(0, (), False, 0)
    mirrors: tuple[Mirror, ...] = ()
    access: Access = Access()  # on top of the edge's: a request must pass both
    require: Requirements = Requirements()  # of the token the route's jwt auth verified
    span: Span | None = _span()


# ---- operations ------------------------------------------------------------------------

@_node
class TargetSetting:
    """One line of a `target NAME { }` block: where a product runs, not what the edge does.
    The target it names gives the key its meaning and checks it."""

    key: str  # e.g. "subnets"
    value: str | tuple[str, ...]
    span: Span | None = _span()


@_node
class TargetSettings:
    """The `target NAME { }` settings of the chosen env (its block's keys over those of `vars`)."""

    target: str  # a target's name, e.g. "aws"
    settings: tuple[TargetSetting, ...]
    span: Span | None = _span()


@_node
class AccessLog:
    format: Literal["json", "combined", "off"]
    path: str  # "-" is standard output


@_node
class Tracing:
    """OpenTelemetry: a server span per request and a client span per upstream attempt, sent
    over OTLP/HTTP (protobuf) to `url`, the collector's traces endpoint; W3C `traceparent` taken
    from the client (its sampling decision followed) and passed on. A trace the client did not
    start is kept with probability sample_percent / 100."""

    url: str  # e.g. http://127.0.0.1:4318/v1/traces
    scheme: Literal["http", "https"]
    host: str
    port: int
    path: str  # "/v1/traces"
    sample_percent: float
    span: Span | None = _span()


@_node
class Observability:
    access_log: AccessLog
    metrics_path: str | None
    tracing: Tracing | None = None


# the header lines of a request head together may be this many times max_header_bytes
# (nginx's `large_client_header_buffers 4 <max_header_size>`)
HEAD_BUFFERS = 4


@_node
class Limits:
    max_body_bytes: int
    max_header_bytes: int  # one request line or header line
    max_headers: int
    header_timeout_ms: int  # time to receive the request head
    idle_timeout_ms: int  # keep-alive connection idle time

    @property
    def max_head_bytes(self) -> int:
        """The bound on a request head's header lines together."""
        return HEAD_BUFFERS * self.max_header_bytes


@_node
class Edge:
    version: int
    name: str
    env: str | None
    listeners: tuple[Listener, ...]
    upstreams: tuple[Upstream, ...]
    auth: tuple[Auth, ...]
    routes: tuple[Route, ...]
    observability: Observability
    limits: Limits
    trusted_proxies: tuple[str, ...]
    # where each target deploys (not what the edge does), by target, in name order
    target_settings: tuple[TargetSettings, ...] = ()
    # every request the edge receives (metrics and HTTPS redirects included) is held to these
    access: Access = Access()
    # the `edge "name" { }` block: where what concerns every request of the edge is reported
    span: Span | None = _span()

    def upstream(self, name: str) -> Upstream:
        return next(u for u in self.upstreams if u.name == name)

    def auth_provider(self, name: str) -> Auth:
        return next(a for a in self.auth if a.name == name)

    def route(self, name: str) -> Route:
        return next(r for r in self.routes if r.name == name)

    def settings_for(self, target: str) -> TargetSettings | None:
        return next((t for t in self.target_settings if t.target == target), None)


# ---- defaults: the one place they live (lowering applies them) ---------------------------
DEFAULT_LISTENER = ("http", 8080)
DEFAULT_PASSIVE = PassiveCheck(max_fails=1, fail_timeout_ms=10_000)
DEFAULT_KEEPALIVE_CONNECTIONS = 256
DEFAULT_KEEPALIVE_IDLE_MS = 60_000
DEFAULT_TIMEOUTS = UpstreamTimeouts(connect_ms=5_000, read_ms=60_000, send_ms=60_000)
DEFAULT_HEALTH = dict(interval_ms=10_000, timeout_ms=2_000, unhealthy=3, healthy=2, expect=(200, 399))
DEFAULT_CACHE_METHODS = ("GET", "HEAD")
CACHE_KEY = ("method", "scheme", "host", "path", "query")
DEFAULT_CORS_METHODS = ("GET", "HEAD", "POST")
DEFAULT_CORS_MAX_AGE_S = 600
DEFAULT_RETRY_STATUSES = (502, 503, 504)
DEFAULT_MAX_PENDING = 1024  # requests that wait for a connection when circuit_breaker does not say (Envoy's)
# what `5xx` stands for in `retries ... on` and `passive ... on`: the server errors every target can name
STATUSES_5XX = (500, 502, 503, 504)
DEFAULT_PART_TIMEOUT_MS = 5_000
DEFAULT_REDIRECT_STATUS = 302
DEFAULT_RESPOND_TYPE = "text/plain; charset=utf-8"
DEFAULT_LIMITS = Limits(max_body_bytes=1024 * 1024, max_header_bytes=8 * 1024, max_headers=100,
                        header_timeout_ms=60_000, idle_timeout_ms=75_000)
DEFAULT_ACCESS_LOG = AccessLog("json", "-")
DEFAULT_TRACING_SAMPLE_PERCENT = 100.0  # as the OpenTelemetry SDK's default sampler (parent-based, always on)
OTLP_TRACES_PATH = "/v1/traces"  # what OTLP/HTTP appends to a collector's base URL
DEFAULT_JWT_ALGORITHMS = ("RS256",)
DEFAULT_JWT_LEEWAY_MS = 0
DEFAULT_API_KEY_HEADER = "X-API-Key"
DEFAULT_REALM = "restricted"
DEFAULT_EXTERNAL_AUTH_TIMEOUT_MS = 2_000
# an authorization service that fails (an answer other than 2xx, 401 or 403, a timeout, no
# connection) lets nothing through and says the service is unavailable
EXTERNAL_AUTH_ERROR_STATUS = 503
EXTERNAL_AUTH_DENY_STATUSES = (401, 403)


# ---- JSON --------------------------------------------------------------------------------

def to_json(node: Any) -> Any:
    """IR → plain JSON data (spans left out, tuples as lists, secrets as {"secret": NAME})."""
    names = _json_fields(type(node))
    if names is not None:
        return {name: to_json(getattr(node, name)) for name in names}
    if isinstance(node, (tuple, list)):
        return [to_json(x) for x in node]
    return node


@functools.cache
def _json_fields(cls: type) -> tuple[str, ...] | None:
    """The fields of an IR class its JSON form has (None: not a dataclass), asked once per class."""
    if not is_dataclass(cls):
        return None
    return tuple(f.name for f in fields(cls) if f.metadata.get("json", True))

