"""The plan's create calls issued in-process with boto3, exactly as validated: a fast way
to put a corpus edge's rules into the emulator (test_deploy proves that deploy.sh makes
the same calls)."""
from __future__ import annotations

from botocore import xform_name

from edgec.targets.aws.calls import Call, Ref, Words
from edgec.targets.aws.plan import Plan


def _fill(value, arns: dict[str, str], words: dict[str, list[str]]):
    if isinstance(value, Ref):
        return arns[value.var]
    if isinstance(value, Words):
        return words[value.var]
    if isinstance(value, dict):
        return {k: _fill(v, arns, words) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, arns, words) for v in value]
    return value


def _call(aws, call: Call, arns, words):
    client = aws.client(call.service)
    return getattr(client, xform_name(call.operation))(**_fill(call.params, arns, words))


def apply(aws, plan: Plan) -> None:
    env = aws.environ
    arns = {"aws_vpc": env["EDGE_AWS_VPC"], "aws_certificate": env["EDGE_AWS_CERTIFICATE"],
            "aws_scheme": "internet-facing"}
    words = {"aws_subnets": env["EDGE_AWS_SUBNETS"].split(),
             "aws_security_groups": env["EDGE_AWS_SECURITY_GROUPS"].split()}
    arns["lb"] = _call(aws, plan.lb_create, arns, words)["LoadBalancers"][0]["LoadBalancerArn"]
    for tg in plan.target_groups:
        arns[tg.var] = _call(aws, tg.create, arns, words)["TargetGroups"][0]["TargetGroupArn"]
    for lst in plan.listeners:
        arns[lst.var] = _call(aws, lst.create, arns, words)["Listeners"][0]["ListenerArn"]
        for rule in lst.rules:
            _call(aws, rule.create, arns, words)
