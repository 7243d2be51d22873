"""AWS target: an Application Load Balancer (elbv2) and a WAFv2 web ACL, built by an
idempotent bash script of AWS CLI calls (deploy.sh) and removed by another (destroy.sh).

The emitter builds a typed plan of calls (plan.py), validates every call against
botocore's service model and the documented quotas (validate.py), and only then renders
bash from Jinja2 templates in which every value is shell-quoted (render.py).
"""
from __future__ import annotations

from edgec.targets import BuildContext, Target

from . import plan as planner
from .capabilities import CAPABILITIES
from .errors import MODEL, PlanError
from .render import render
from .settings import file_values
from .validate import problems

SCRIPTS = ("deploy.sh", "destroy.sh")


class AwsTarget(Target):
    name = "aws"
    description = ("Application Load Balancer (elbv2) and WAFv2 rate rules, built by idempotent AWS CLI "
                   "scripts deploy.sh and destroy.sh")
    capabilities = CAPABILITIES

    def check(self, ctx: BuildContext) -> None:
        before = len(ctx.sink.items)
        super().check(ctx)
        if any(d.severity == "error" for d in ctx.sink.items[before:]):
            return  # a feature ALB lacks: the plan would only repeat it
        self.plan(ctx)

    def plan(self, ctx: BuildContext) -> planner.Plan | None:
        """The validated plan, or None after reporting why there is none."""
        defaults = file_values(ctx.edge, ctx.sink)
        try:
            plan = planner.build(ctx.edge, defaults)
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
