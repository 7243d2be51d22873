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


def apply(aws, plan: Plan) -> dict[str, str]:
    """Creates what the plan says; the run-time values (ARNs, ids) by variable name."""
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
    if plan.api:
        _api(aws, plan, arns, words)
    return arns


def _api(aws, plan: Plan, arns, words) -> None:
    """The HTTP API, as deploy.sh's create branch makes it."""
    api = plan.api
    arns["vpc_link"] = _call(aws, api.vpc_link, arns, words)["VpcLinkId"]
    arns["api"] = _call(aws, api.create, arns, words)["ApiId"]
    for i, a in enumerate(api.authorizers):
        arns[f"authorizer_{i}"] = _call(aws, a.create, arns, words)["AuthorizerId"]
    arns["api_arn"] = f"arn:aws:apigateway:us-east-1::/apis/{arns['api']}"
    if api.authorizers:
        aws.client("apigatewayv2").tag_resource(ResourceArn=arns["api_arn"], Tags={
            a.tag: arns[f"authorizer_{i}"] for i, a in enumerate(api.authorizers)})
    for n, integ in enumerate(api.integrations, 1):
        arns[f"integration_{n}"] = _call(aws, integ.create, arns, words)["IntegrationId"]
        arns[f"integration_{n}_target"] = f"integrations/{arns[f'integration_{n}']}"
    for route in api.routes:
        _call(aws, route.create, arns, words)
    arns["aws_log_group"] = "arn:aws:logs:us-east-1:123456789012:log-group:edge"
    _call(aws, api.stage, arns, words)
