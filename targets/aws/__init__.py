"""AWS target: an Application Load Balancer (elbv2) and a WAFv2 web ACL, built by an
idempotent bash script of AWS CLI calls (deploy.sh) and removed by another (destroy.sh).

The emitter builds a typed plan of calls (plan.py), validates every call against
botocore's service model and the documented quotas (validate.py), and only then renders
bash from Jinja2 templates in which every value is shell-quoted (render.py).
"""
from __future__ import annotations

from edgec.features import used_features
from edgec.targets import UNSUPPORTED, BuildContext, Target, unsupported

from . import plan as planner
from .capabilities import APIGW_CAPABILITIES, CAPABILITIES, GATEWAY
from .errors import MODEL, PlanError
from .render import render
from .settings import file_values
from .validate import problems

SCRIPTS = ("deploy.sh", "destroy.sh")
GATEWAYS = ("alb", "apigw", "auto")


class AwsTarget(Target):
    name = "aws"
    description = ("Application Load Balancer (elbv2) and WAFv2 rate rules, built by idempotent AWS CLI "
                   "scripts deploy.sh and destroy.sh")
    capabilities = CAPABILITIES
    profiles = {"gateway=apigw": APIGW_CAPABILITIES}
    options = {"gateway": ("alb", "alb: the load balancer alone; apigw: an HTTP API (API Gateway) in front of it "
                                  "for JWT authorizers, route throttling, header mappings and CORS; auto: apigw "
                                  "when the file uses one of those, and a W414 that says so")}

    def gateway(self, ctx: BuildContext) -> bool | None:
        """Whether an HTTP API goes in front of the load balancer (None: the option is invalid)."""
        choice = self.option(ctx, "gateway")
        if choice not in GATEWAYS:
            ctx.sink.error("E403", f"gateway '{choice}' is unknown", None,
                           hint="use -O gateway=alb, -O gateway=apigw or -O gateway=auto")
            return None
        if choice != "auto":
            return choice == "apigw"
        uses = [u for u in used_features(ctx.edge) if u.feature in GATEWAY and not u.default
                and CAPABILITIES.get(u.feature, unsupported("")).level == UNSUPPORTED]
        needs = sorted({u.feature for u in uses})
        if needs:
            ctx.sink.warning("W414", "-O gateway=auto puts an HTTP API (API Gateway) in front of the load balancer "
                                     "for " + ", ".join(needs), uses[0].span,
                             hint="write -O gateway=apigw to choose it, or -O gateway=alb to refuse those features")
        return bool(needs)

    def check(self, ctx: BuildContext) -> None:
        before = len(ctx.sink.items)
        gateway = self.gateway(ctx)
        if gateway is None:
            return
        self.capabilities = APIGW_CAPABILITIES if gateway else CAPABILITIES
        super().check(ctx)
        if any(d.severity == "error" for d in ctx.sink.items[before:]):
            return  # a feature ALB lacks: the plan would only repeat it
        plan = self.plan(ctx)
        for message, span in dict.fromkeys((e.message, e.span) for e in plan.declined) if plan else ():
            ctx.approximates(f"{message}; the load balancer answers those requests 501 instead", span,
                             "the rest of the edge is built; the runtime target serves this route as written")

    def plan(self, ctx: BuildContext) -> planner.Plan | None:
        """The validated plan, or None after reporting why there is none."""
        defaults = file_values(ctx.edge, ctx.sink)
        try:
            plan = planner.build(ctx.edge, defaults, gateway=self.capabilities is APIGW_CAPABILITIES)
        except PlanError as err:
            ctx.sink.error(err.code, err.message, err.span, hint=err.hint)
            return None
        reported = set()
        for call in plan.calls():
            for problem in problems(call):
                # the same value often reaches several calls (tags): say it once
                same = problem.split(".", 1)[-1] if problem.startswith(call.operation + ".") else problem
                if same in reported:
                    continue
                reported.add(same)
                hint = ("the edge name and the env name become AWS tag values: letters, digits, spaces "
                        "and _ . : / = + - @" if ".Tags[" in problem else "change the value the message names")
                ctx.sink.error(MODEL, f"AWS would reject {call.origin.what}: {problem}", call.origin.span,
                               hint=hint)
        return None if reported else plan

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        plan = self.plan(ctx)
        if plan is None:
            return {}
        return {name: render(plan, name + ".j2") for name in SCRIPTS}

    def executables(self, files: dict[str, str]) -> frozenset[str]:
        return frozenset(name for name in files if name.endswith(".sh"))


TARGET = AwsTarget
