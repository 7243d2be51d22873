"""IR → a typed plan of AWS calls: every resource of the load balancer, in dependency order.

The plan decides everything (names, priorities, parameters); the templates only add the
describe-then-create control flow around its calls. Rules reproduce routing.decide:
every match alternative of every route becomes one or more rules, ordered by the same
specificity decide uses, so ALB's first match by priority is decide's most specific match.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from edgec import ir
from edgec import routing

from . import actions, apigw, ipsets, waf
from . import direct as public
from .calls import Call, Origin, Ref, Words
from .conditions import from_sources, rule_matches
from .errors import CANNOT, QUOTA, PlanError
from .names import elb_name, jmespath_literal, waf_name
from .settings import INPUTS, is_ipv4, targets_environ

MAX_RULES = 100
NOT_FOUND = {"Type": "fixed-response",
             "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "not found"}}
FORBIDDEN = {"Type": "fixed-response",
             "FixedResponseConfig": {"StatusCode": "403", "ContentType": "text/plain", "MessageBody": "forbidden"}}
# behind API Gateway, a route AWS cannot serve (aggregate) keeps its place in the rules and says so
NOT_BUILT = {"Type": "fixed-response", "FixedResponseConfig": {
    "StatusCode": "501", "ContentType": "text/plain", "MessageBody": "not implemented on this deployment"}}
SSL_POLICY = {"1.2": "ELBSecurityPolicy-TLS13-1-2-2021-06", "1.3": "ELBSecurityPolicy-TLS13-1-3-2021-06"}
NO_HEALTH = dict(path="/", interval_s=30, timeout_s=5, healthy=5, unhealthy=2, matcher="200-499")
ONE_DAY_S = 86_400
ALGORITHM = {"round_robin": "round_robin", "least_conn": "least_outstanding_requests",
             "random": "weighted_random"}
WAF_ID = "01234567-89ab-cdef-0123-456789abcdef"
WAF_ARN = f"arn:aws:wafv2:us-east-1:123456789012:regional/webacl/edge/{WAF_ID}"
CERT_ARN = f"arn:aws:acm:us-east-1:123456789012:certificate/{WAF_ID}"


@dataclass
class TargetGroup:
    upstream: str
    name: str
    var: str
    environ: str
    default_targets: tuple[str, ...]  # "ip:port" from the servers, when they are IP addresses
    create: Call
    modify: Call
    attributes: Call
    register: Call  # validated with the default targets; the script registers what it is given
    tags: Call
    delete: Call


@dataclass
class Rule:
    priority: int
    route: str
    create: Call
    modify: Call
    tags: Call


@dataclass
class Listener:
    protocol: str
    port: int
    var: str
    create: Call
    modify: Call
    attributes: Call | None = None  # response headers the listener adds (HSTS)
    rules: list[Rule] = field(default_factory=list)


@dataclass
class WebAcl:
    name: str
    create: Call
    update: Call
    associate: Call


@dataclass
class Teardown:
    """The calls destroy.sh makes, on resources it finds by name."""

    disassociate: Call
    delete_acl: Call
    delete_ip_set: Call  # the set named $ip_set_name
    delete_rule: Call
    delete_listener: Call
    delete_target_group: Call
    delete_lb: Call


def _teardown(acl_name: str) -> Teardown:
    origin = Origin("destroy")
    return Teardown(
        Call("wafv2", "DisassociateWebACL", {"ResourceArn": Ref("lb")}, origin),
        Call("wafv2", "DeleteWebACL", {"Name": acl_name, "Scope": "REGIONAL", "Id": Ref("acl_id", WAF_ID),
                                       "LockToken": Ref("acl_lock", WAF_ID)}, origin),
        Call("wafv2", "DeleteIPSet", {"Name": Ref("ip_set_name", acl_name), "Scope": "REGIONAL",
                                      "Id": Ref("ip_set_id", ipsets.SET_ID),
                                      "LockToken": Ref("ip_set_lock", ipsets.SET_ID)}, origin),
        Call("elbv2", "DeleteRule", {"RuleArn": Ref("arn")}, origin),
        Call("elbv2", "DeleteListener", {"ListenerArn": Ref("arn")}, origin),
        Call("elbv2", "DeleteTargetGroup", {"TargetGroupArn": Ref("arn")}, origin),
        Call("elbv2", "DeleteLoadBalancer", {"LoadBalancerArn": Ref("lb")}, origin))


@dataclass
class Plan:
    edge: str
    env: str
    lb_name: str
    inputs: list  # settings.Input the script needs
    defaults: dict[str, tuple[str, ...]]  # input key → words from the .edge file
    lb_create: Call
    lb_converge: list[Call]
    target_groups: list[TargetGroup]
    listeners: list[Listener]
    waf: WebAcl | None
    waf_name: str
    ip_sets: list[ipsets.IpSet]  # created before the web ACL that refers to them
    ip_set_names: list[str]  # every IP set the edge may own: those not in ip_sets are deleted
    teardown: Teardown
    api_teardown: apigw.ApiTeardown
    api: apigw.HttpApi | None = None  # gateway=apigw: the HTTP API in front of the load balancer
    # gateway=apigw: why rules answer 501 instead of the redirect or response the ALB cannot make
    declined: list[PlanError] = field(default_factory=list)

    @property
    def stale_ip_set_names(self) -> list[str]:
        planned = {s.name for s in self.ip_sets}
        return [n for n in self.ip_set_names if n not in planned]

    @property
    def owned_query(self) -> str:
        """JMESPath over describe-tags: the ARNs tagged with this edge and env."""
        def tag(key: str, value: str) -> str:
            return f"Tags[?Key=='{key}' && Value=={jmespath_literal(value)}]"
        return f"TagDescriptions[?{tag('edgec:edge', self.edge)} && {tag('edgec:env', self.env)}].ResourceArn"

    def calls(self) -> list[Call]:
        t = self.teardown
        out = [self.lb_create, *self.lb_converge, t.disassociate, t.delete_acl, t.delete_ip_set, t.delete_rule, t.delete_listener,
               t.delete_target_group, t.delete_lb]
        for tg in self.target_groups:
            out += [tg.create, tg.modify, tg.attributes, tg.register, tg.tags, tg.delete]
        for lst in self.listeners:
            out += [lst.create, lst.modify, *([lst.attributes] if lst.attributes else [])]
            for r in lst.rules:
                out += [r.create, r.modify, r.tags]
        for s in self.ip_sets:
            out += [s.create, s.update]
        if self.waf:
            out += [self.waf.create, self.waf.update, self.waf.associate]
        out += self.api_teardown.calls()
        if self.api:
            out += self.api.calls()
        return out


def _tags(plan_tags: list[dict], **more: str) -> list[dict]:
    return plan_tags + [{"Key": f"edgec:{k}", "Value": v} for k, v in more.items()]


def _seconds(ms: int) -> int:
    return max(1, math.ceil(ms / 1000))


def _target_group(up: ir.Upstream, index: int, edge: ir.Edge, tags: list[dict]) -> TargetGroup:
    name = elb_name(edge.name, edge.env or "", up.name)
    var = f"tg_{index}"
    origin = Origin(f"target group of upstream '{up.name}'", up.span)
    if up.health:
        h = up.health
        lo, hi = h.expect_status
        if not (200 <= lo <= hi <= 499):
            raise PlanError(CANNOT, f"ALB health checks expect statuses within 200-499, not {lo}-{hi}", up.span)
        hc = dict(path=h.path, interval_s=_seconds(h.interval_ms), timeout_s=_seconds(h.timeout_ms),
                  healthy=h.healthy_threshold, unhealthy=h.unhealthy_threshold, matcher=f"{lo}-{hi}")
        if hc["timeout_s"] >= hc["interval_s"]:
            raise PlanError(QUOTA, f"an ALB health check timeout ({hc['timeout_s']} s) must be shorter than "
                                   f"its interval ({hc['interval_s']} s)", up.span)
    else:
        hc = NO_HEALTH
    health = {"HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True,
              "HealthCheckPath": hc["path"], "HealthCheckIntervalSeconds": hc["interval_s"],
              "HealthCheckTimeoutSeconds": hc["timeout_s"], "HealthyThresholdCount": hc["healthy"],
              "UnhealthyThresholdCount": hc["unhealthy"], "Matcher": {"HttpCode": hc["matcher"]}}
    ref = Ref(var)
    create = Call("elbv2", "CreateTargetGroup", {
        "Name": name, "Protocol": "HTTP", "ProtocolVersion": "HTTP1", "Port": up.servers[0].port,
        "VpcId": Ref("aws_vpc", "vpc-0123456789abcdef0"), "TargetType": "ip", **health,
        "Tags": _tags(tags, upstream=up.name)}, origin, query="TargetGroups[0].TargetGroupArn")
    modify = Call("elbv2", "ModifyTargetGroup", {"TargetGroupArn": ref, **health}, origin)
    attributes = [("deregistration_delay.timeout_seconds", "30"),
                  ("stickiness.enabled", "true" if up.sticky else "false")]
    if up.sticky:
        attributes += [("stickiness.type", "lb_cookie"),
                       ("stickiness.lb_cookie.duration_seconds", str(_seconds(up.sticky.ttl_ms)
                                                                        if up.sticky.ttl_ms else ONE_DAY_S))]
    if up.balance not in ALGORITHM:
        raise PlanError(CANNOT, f"ALB has no balance {up.balance}", up.span)
    attributes.append(("load_balancing.algorithm.type", ALGORITHM[up.balance]))
    attrs = Call("elbv2", "ModifyTargetGroupAttributes", {
        "TargetGroupArn": ref, "Attributes": [{"Key": k, "Value": v} for k, v in attributes]}, origin)
    defaults = tuple(f"{s.host}:{s.port}" for s in up.servers) if all(is_ipv4(s.host) for s in up.servers) else ()
    register = Call("elbv2", "RegisterTargets", {"TargetGroupArn": ref, "Targets": [
        {"Id": t.rsplit(":", 1)[0], "Port": int(t.rsplit(":", 1)[1])} for t in defaults or ("10.0.0.1:80",)]},
        origin)
    return TargetGroup(up.name, name, var, targets_environ(up.name), defaults, create, modify, attrs, register,
                       Call("elbv2", "AddTags", {"ResourceArns": [ref], "Tags": _tags(tags, upstream=up.name)},
                            origin),
                       Call("elbv2", "DeleteTargetGroup", {"TargetGroupArn": ref}, origin))


def _rule_actions(route: ir.Route, edge: ir.Edge, match: ir.Match, piece, https: bool, groups: dict[str, Ref],
                  gateway: bool) -> list[dict]:
    action = route.action
    if isinstance(action, ir.Forward):
        main = actions.forward(action, groups, route.span)
    elif isinstance(action, ir.Redirect):
        main = actions.redirect(action, match, piece, https, route.span)
    elif isinstance(action, ir.Respond):
        main = actions.respond(action, route.span)
    elif isinstance(action, ir.Aggregate) and gateway:
        main = NOT_BUILT
    else:
        raise PlanError(CANNOT, f"ALB cannot {action.type}", route.span)
    if not route.auth or gateway:
        return [main]  # behind API Gateway, its JWT authorizer checks the token
    if not https:
        raise PlanError(CANNOT, "ALB validates JWTs on HTTPS listeners only, and this edge has a plain "
                                "HTTP listener that does not redirect", route.span,
                        hint="make every http listener `redirect https`")
    return [{**actions.jwt_validation(edge.auth_provider(route.auth), route.span), "Order": 1},
            {**main, "Order": 2}]


def _transforms(route: ir.Route, piece) -> list[dict]:
    out = []
    if route.rewrite.path and isinstance(route.action, ir.Forward):
        out.append(actions.url_rewrite(route.rewrite.path, piece, route.span))
    if route.rewrite.host and isinstance(route.action, ir.Forward):
        out.append(actions.host_rewrite(route.rewrite.host, route.span))
    return out


def _guarded(route: ir.Route, conditions: tuple[dict, ...], acts: list[dict], transforms: list[dict],
             span, gateway: bool) -> list[tuple[tuple[dict, ...], list[dict], list[dict]]]:
    """The rules of one rule match with the route's own address lists, in priority order:
    a denied client is answered 403, then a client of the allow list gets the route's
    actions, and 403 answers the rest (a request refused by both lists is refused either way)."""
    if gateway and not route.access.empty:
        # the load balancer's connections come from API Gateway's VPC link, not from clients
        raise PlanError(CANNOT, f"route '{route.name}' has its own allow or deny list, which a load balancer "
                                "behind API Gateway cannot test: its source-ip is API Gateway's", route.span,
                        hint="move the networks to the edge's allow/deny (a WAF IP set), or build without "
                             "-O gateway=apigw")
    out = [(c, [FORBIDDEN], []) for c in (from_sources(conditions, route.access.deny, span)
                                          if route.access.deny else [])]
    if not route.access.allow:
        return out + [(conditions, acts, transforms)]
    return out + [(c, acts, transforms) for c in from_sources(conditions, route.access.allow, span)] + [
        (conditions, [FORBIDDEN], [])]


def _rule(priority: int, route: ir.Route, listener: Listener, conditions: tuple[dict, ...], acts: list[dict],
          transforms: list[dict], tags: list[dict], span) -> Rule:
    origin = Origin(f"rule {priority} of route '{route.name}' on {listener.protocol}:{listener.port}", span)
    create = {"ListenerArn": Ref(listener.var), "Priority": priority, "Conditions": list(conditions),
              "Actions": acts, "Tags": _tags(tags, route=route.name)}
    modify = {"RuleArn": Ref("rule"), "Conditions": list(conditions), "Actions": acts}
    if transforms:
        create["Transforms"] = modify["Transforms"] = transforms
    else:
        modify["ResetTransforms"] = True
    return Rule(priority, route.name, Call("elbv2", "CreateRule", create, origin),
                Call("elbv2", "ModifyRule", modify, origin),
                Call("elbv2", "AddTags", {"ResourceArns": [Ref("rule")], "Tags": _tags(tags, route=route.name)},
                     origin))


def _rules(edge: ir.Edge, listener: Listener, groups: dict[str, Ref], tags: list[dict],
           gateway: bool, declined: list[PlanError], direct: set[str]) -> list[Rule]:
    """`direct`: routes API Gateway sends to their public upstream, which the ALB never sees
    (API Gateway sends it only requests decide gives other routes: apigw.gateway_conflicts)."""
    https = listener.protocol == "https"
    rules: list[Rule] = []
    for alt in routing.first_match_order(edge):
        route, match = alt.route, alt.one_host_match
        if route.name in direct:
            continue
        split = bool(route.rewrite.path) or isinstance(route.action, ir.Redirect)
        for rm in rule_matches(match, match.span or route.span, split_paths=split):
            piece = rm.paths[0]
            try:
                acts = _rule_actions(route, edge, match, piece, https, groups, gateway)
            except PlanError as err:
                # behind API Gateway the rest of the edge is still built; this rule says it is not
                if not (gateway and isinstance(route.action, (ir.Redirect, ir.Respond))):
                    raise
                declined.append(PlanError(err.code, f"route '{route.name}' on the paths {piece.pattern}: {err.message}",
                                          err.span, err.hint))
                acts = [NOT_BUILT]
            transforms = _transforms(route, piece)
            for conditions, rule_acts, rule_transforms in _guarded(route, rm.conditions, acts, transforms,
                                                                   match.span or route.span, gateway):
                rules.append(_rule(len(rules) + 1, route, listener, conditions, rule_acts, rule_transforms, tags,
                                   match.span or route.span))
    return rules


def _listener(lst: ir.Listener, index: int, tags: list[dict]) -> Listener:
    var = f"listener_{index}"
    origin = Origin(f"listener {lst.protocol}:{lst.port}", lst.span)
    if lst.redirect:
        if lst.redirect.status not in (301, 302):
            raise PlanError(CANNOT, f"ALB redirects with 301 or 302 only, not {lst.redirect.status}", lst.span)
        default = {"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTPS", "Port": str(lst.redirect.port), "Host": "#{host}", "Path": "/#{path}",
            "Query": "#{query}", "StatusCode": f"HTTP_{lst.redirect.status}"}}
    else:
        default = NOT_FOUND
    params = {"Protocol": lst.protocol.upper(), "Port": lst.port, "DefaultActions": [default]}
    if lst.protocol == "https":
        params["Certificates"] = [{"CertificateArn": Ref("aws_certificate", CERT_ARN)}]
        params["SslPolicy"] = SSL_POLICY[lst.tls.min_version if lst.tls else "1.2"]
    create = Call("elbv2", "CreateListener", {"LoadBalancerArn": Ref("lb"), **params, "Tags": tags}, origin,
                  query="Listeners[0].ListenerArn")
    modify = Call("elbv2", "ModifyListener", {"ListenerArn": Ref(var), **params}, origin)
    attributes = Call("elbv2", "ModifyListenerAttributes", {"ListenerArn": Ref(var), "Attributes": [
        {"Key": "routing.http.response.strict_transport_security.header_value", "Value": lst.hsts.header_value}]},
        origin) if lst.hsts and lst.protocol == "https" else None
    return Listener(lst.protocol, lst.port, var, create, modify, attributes)


def build(edge: ir.Edge, defaults: dict[str, tuple[str, ...]], gateway: bool = False) -> Plan:
    """`gateway`: an HTTP API in front of the load balancer (-O gateway=apigw)."""
    env = edge.env or ""
    tags = [{"Key": "edgec:edge", "Value": edge.name}, {"Key": "edgec:env", "Value": env}]
    lb_name = elb_name("edgec", edge.name, env)
    origin = Origin("the load balancer")
    lb = Ref("lb")
    subnets = Words("aws_subnets", ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"))
    groups_sg = Words("aws_security_groups", ("sg-0123456789abcdef0",))
    lb_create = Call("elbv2", "CreateLoadBalancer", {
        "Name": lb_name, "Type": "application", "Scheme": Ref("aws_scheme", "internet-facing"),
        "IpAddressType": "ipv4", "Subnets": subnets, "SecurityGroups": groups_sg, "Tags": tags},
        origin, query="LoadBalancers[0].LoadBalancerArn")
    idle_s = max(u.timeouts.read_ms for u in edge.upstreams) // 1000 if edge.upstreams else 60
    lb_converge = [
        Call("elbv2", "SetSubnets", {"LoadBalancerArn": lb, "Subnets": subnets}, origin),
        Call("elbv2", "SetSecurityGroups", {"LoadBalancerArn": lb, "SecurityGroups": groups_sg}, origin),
        Call("elbv2", "ModifyLoadBalancerAttributes", {"LoadBalancerArn": lb, "Attributes": [
            {"Key": "idle_timeout.timeout_seconds", "Value": str(min(4000, max(1, idle_s)))},
            {"Key": "routing.http2.enabled", "Value": "true"}]}, origin),
        Call("elbv2", "AddTags", {"ResourceArns": [lb], "Tags": tags}, origin),
    ]
    # behind API Gateway, a public HTTPS upstream is its integration's URL, not a target group
    direct = public.routes(edge, public.upstreams(edge)) if gateway else {}
    used = {b.upstream for r in edge.routes if isinstance(r.action, ir.Forward) and r.name not in direct
            for b in r.action.backends}
    target_groups = [_target_group(u, i, edge, tags)
                     for i, u in enumerate((u for u in edge.upstreams if u.name in used), 1)]
    groups = {tg.upstream: Ref(tg.var) for tg in target_groups}
    listeners = [_listener(lst, i, tags) for i, lst in enumerate(edge.listeners, 1)]
    declined: list[PlanError] = []
    for lst, source in zip(listeners, edge.listeners):
        if not source.redirect:
            lst.rules = _rules(edge, lst, groups, tags, gateway, declined, set(direct))
    every_rule = [r for lst in listeners for r in lst.rules]
    if len(every_rule) > MAX_RULES:
        over = edge.route(every_rule[MAX_RULES].route)
        raise PlanError(QUOTA, f"this edge needs {len(every_rule)} ALB rules; an ALB has at most {MAX_RULES} "
                               f"(route '{over.name}' is rule {MAX_RULES + 1})", over.span,
                        hint="fewer match alternatives, hosts or methods; or fewer listeners")
    # behind API Gateway a limit per JWT claim is its route throttling alone: WAF cannot read claims
    rate_routes = [r for r in edge.routes if r.rate_limit and not (gateway and r.rate_limit.key.source == "claim")]
    acl_name = waf_name("edgec", edge.name, env)
    web_acl = None
    ip_sets = ipsets.build(edge, env, tags)
    access_rules = ipsets.rules(ip_sets, gateway)
    if rate_routes or access_rules:
        wrules = access_rules + [waf.rule(r, i, gateway) for i, r in enumerate(rate_routes, len(access_rules))]
        worigin = Origin("the WAF web ACL", rate_routes[0].span if rate_routes else None)
        spec = {"DefaultAction": {"Allow": {}}, "Rules": wrules,
                "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                                     "MetricName": acl_name}}
        web_acl = WebAcl(
            acl_name,
            Call("wafv2", "CreateWebACL", {"Name": acl_name, "Scope": "REGIONAL", **spec, "Tags": tags}, worigin,
                 query="Summary.ARN"),
            Call("wafv2", "UpdateWebACL", {"Name": acl_name, "Scope": "REGIONAL", "Id": Ref("acl_id", WAF_ID),
                                           "LockToken": Ref("acl_lock", WAF_ID), **spec}, worigin),
            Call("wafv2", "AssociateWebACL", {"WebACLArn": Ref("acl_arn", WAF_ARN), "ResourceArn": lb}, worigin))
    api = None
    if gateway:
        behind = next((lst for lst, source in zip(listeners, edge.listeners) if not source.redirect), None)
        if behind is None:
            raise PlanError(CANNOT, "API Gateway needs a listener that serves routes behind its VPC link",
                            edge.listeners[0].span if edge.listeners else None)
        api = apigw.build(edge, behind.var, tags, direct)
    needed = [i for i in INPUTS
              if (i.key != "certificate" or any(lst.protocol == "https" for lst in edge.listeners))
              and (i.key != "vpc" or target_groups)
              and (i.key != "log_group" or (api is not None and api.stage.params.get("AccessLogSettings")))]
    return Plan(edge.name, env, lb_name, needed, defaults, lb_create, lb_converge, target_groups,
                listeners, web_acl, acl_name, ip_sets, ipsets.every_name(edge.name, env), _teardown(acl_name),
                apigw.teardown(edge), api, declined)
