"""The locations of one server block, from its plan (plan.py): one location per path the
plan lists, a named location per route body reached by a per-request choice, and the
named locations that answer after limit_req and auth_basic have run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from edgec import ir

from .actions import Actions
from .conf import D, Expr, line
from .headers import Headers
from .javascript import Javascript
from .matching import Matching
from .plan import Candidate, Location, ServerPlan
from .policies import Policies


class Handler(NamedTuple):
    """One location body: a route, and the prefix its path rewrite replaces (when that
    depends on which match matched). A tuple: one is made per candidate of every location."""

    route_index: int
    prefix: str | None


@dataclass
class Parts:
    """The builders one server's locations draw on, shared by every server of the config."""

    edge: ir.Edge
    policies: Policies
    headers: Headers
    actions: Actions
    matching: Matching
    js: Javascript


class ServerLocations:
    def __init__(self, parts: Parts):
        self.parts = parts
        self.edge = parts.edge
        self.dispatches = False  # some location chooses per request (try_files)
        self._named: dict[Handler, str] = {}
        self._named_count: dict[int, int] = {}
        self._named_blocks: list[D] = []
        self._answers: set[str] = set()
        self._authorized: dict[Handler, str] = {}
        self._authorized_per_route: dict[int, int] = {}  # route index → named locations made for it
        self._bodies: dict[Handler, list[D | str]] = {}

    def build(self, sp: ServerPlan) -> list[D]:
        out = []
        metrics = self.edge.observability.metrics_path
        if metrics:
            out.append(self.metrics_location(metrics))
        for loc in sp.locations:
            if loc.kind == "exact" and loc.path == metrics:
                continue
            out.append(self.location(loc))
        return out + self._named_blocks

    def metrics_location(self, path: str) -> D:
        allow = ["127.0.0.1", "::1", *self.edge.trusted_proxies]
        return D("location", "=", path, comment="metrics: nginx stub_status counters, for local scrapers",
                 block=[D("stub_status"), D("access_log", "off"),
                        *[D("allow", a) for a in allow], D("deny", "all")])

    def location(self, loc: Location) -> D:
        if loc.kind == "exact":
            head = ("=", loc.path)
        elif loc.kind == "prefix":
            head = (loc.path + "/",)
        else:
            head = ("/",)
        cands = loc.candidates
        if not cands:
            return D("location", *head, block=[line("return", 404)])
        if not cands[0].conditional:
            c = cands[0]
            return D("location", *head, block=self.handler(handler_of(c)), comment=describe(c))
        self.dispatches = True
        choice = self.parts.matching.selector(cands, lambda c: self.named(handler_of(c)), self.not_found)
        return D("location", *head, block=[line("try_files", "", Expr("$" + choice))],
                 comment="chosen per request: " + ", ".join(describe(c) for c in cands[:6])
                 + (f" and {len(cands) - 6} more" if len(cands) > 6 else ""))

    def named(self, h: Handler) -> str:
        name = self._named.get(h)
        if name is None:
            route = self.edge.routes[h.route_index]
            same = self._named_count.get(h.route_index, 0)
            self._named_count[h.route_index] = same + 1
            name = f"@{route.name}" + (f"_{same + 1}" if same else "")
            self._named[h] = name
            self._named_blocks.append(D("location", name, block=self.handler(h)))
        return name

    def not_found(self) -> str:
        h = Handler(-1, None)
        if h not in self._named:
            self._named[h] = "@edgec_no_route"
            self._named_blocks.append(D("location", "@edgec_no_route", block=[line("return", 404)]))
        return self._named[h]

    def handler(self, h: Handler) -> list[D | str]:
        """One route's location body: its address lists, its policies, then its action; a JWT
        route checks the token first and goes on in a named location (see javascript.py). Made
        once per handler: the locations of a route's several paths share it."""
        body = self._bodies.get(h)
        if body is None:
            body = self._bodies[h] = self._handler(h)
        return body

    def _handler(self, h: Handler) -> list[D | str]:
        route = self.edge.routes[h.route_index]
        refuse = self.parts.policies.access(route.access)  # before the token or a preflight is looked at
        if route.auth in self.parts.js.jwt:
            name = self._authorized.get(h)
            if name is None:
                same = self._authorized_per_route.get(h.route_index, 0)
                self._authorized_per_route[h.route_index] = same + 1
                name = self._authorized[h] = f"@{route.name}_authorized" + (f"_{same + 1}" if same else "")
                self._named_blocks.append(D("location", name, block=self.checked(h)))
            return refuse + self.parts.policies.preflight(route) + self.parts.js.gate(route, name)
        return refuse + self.checked(h)

    def checked(self, h: Handler) -> list[D | str]:
        """A route's body once its token (if any) is checked: its policies, then its action."""
        route = self.edge.routes[h.route_index]
        action = route.action
        policies, headers, actions = self.parts.policies, self.parts.headers, self.parts.actions
        body = policies.directives(route)
        if isinstance(action, ir.Forward):
            return body + actions.forward(route)
        if isinstance(action, ir.Aggregate):
            # njs answers in the content phase, after limit_req
            return body + headers.response_headers(route, proxied=False) + self.parts.js.aggregate(route)
        answer = actions.redirect(action, h.prefix) if isinstance(action, ir.Redirect) else actions.respond(action)
        answer = headers.response_headers(route, proxied=False) + answer
        if not policies.answers_late(route):
            return body + answer
        # `return` runs in the rewrite phase, before limit_req and auth_basic would:
        # answer from a named location reached after them
        name = f"@{route.name}_answer"
        if name not in self._answers:
            self._answers.add(name)
            self._named_blocks.append(D("location", name, block=answer))
        # the preflight answer of `policies` and limit_req's refusal are given here, so they need
        # the CORS and Retry-After headers too
        front = headers.response_headers(route, proxied=False) \
            if route.cors or policies.api_key_of(route) or route.rate_limit else []
        self.dispatches = True
        return body + front + [line("try_files", "", name)]


def describe(c: Candidate) -> str:
    e = c.entry
    return (f"route {e.route.name}" + (f" (match {e.match_index + 1})" if len(e.route.matches) > 1 else "")
            + (f" on {c.host_pattern}" if c.host_test else ""))


def handler_of(c: Candidate) -> Handler:
    e = c.entry
    action = e.route.action
    needs_prefix = (isinstance(action, ir.Redirect) and action.path is not None
                    and action.path.type == "prefix" and action.path.match is None)
    prefix = e.match.path.value if needs_prefix and e.match.path.type != "regex" else None
    return Handler(e.route_index, prefix)
