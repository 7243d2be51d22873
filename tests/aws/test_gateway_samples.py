"""Samples that build for `--target aws -O gateway=apigw`: each builds in every env with only
warnings (what AWS does instead is said, at the route), and its deploy.sh runs against the
emulator twice with the same ids, its API read back carries the header mappings of the IR,
a route AWS cannot serve answers 501 from the load balancer, and destroy.sh leaves nothing, twice."""
from __future__ import annotations

import pytest

from edgec.diagnostics import Sink
from edgec.lower import environments
from edgec.parse import parse
from edgec.pipeline import analyse
from edgec.targets import BuildContext, get
from edgec.targets.aws import apigw, plan as planner

from ..conftest import ROOT
from .readback import is_empty, state
from .test_deploy import write
from .test_gateway import LOG_GROUP, api_state

BUILDS = ("bff", "proxy", "shop", "storefront")  # the README's sample matrix says the same
# where a sample's upstream servers are host names, the addresses deploy.sh registers
TARGETS = {"EDGE_AWS_TARGETS_ACCOUNTS": "10.9.0.1:8080", "EDGE_AWS_TARGETS_CATALOG": "10.9.0.2:8080",
           "EDGE_AWS_TARGETS_ORDERS": "10.9.0.3:8080", "EDGE_AWS_TARGETS_NOTIFICATIONS": "10.9.0.4:8080"}


def compile_sample(name: str, env: str):
    path = ROOT / "samples" / f"{name}.edge"
    result = analyse(path.read_text(), f"samples/{path.name}", env=env)
    assert result.ok, [d.message for d in result.diagnostics]
    target, sink = get("aws"), Sink(f"samples/{path.name}")
    ctx = BuildContext(result.edge, sink, {"gateway": "apigw"}, target="aws")
    target.check(ctx)
    return result.edge, target, ctx, sink.items


def sample_envs():
    return [pytest.param(n, e, id=f"{n}-{e}") for n in BUILDS
            for e in environments(parse((ROOT / "samples" / f"{n}.edge").read_text(), n))]


@pytest.mark.parametrize("name,env", sample_envs())
def test_the_sample_builds_saying_what_aws_does_instead(name, env):
    edge, target, ctx, items = compile_sample(name, env)
    assert [d.message for d in items if d.severity == "error"] == []
    files = target.emit(ctx)
    assert set(files) == {"deploy.sh", "destroy.sh"}
    plan = target.plan(ctx)
    for message in (d.message for d in items if "501" in d.message):
        assert "approximates" in message
    # every route that cannot be served answers 501, and only those
    not_built = {r.route for lst in plan.listeners for r in lst.rules
                 if r.create.params["Actions"][-1] == planner.NOT_BUILT}
    warned = {r.name for r in edge.routes if any(f"route '{r.name}'" in d.message and "501" in d.message
                                                 for d in items)}
    assert not_built == warned


@pytest.fixture(scope="module")
def deployed(aws, tmp_path_factory):
    out = {}
    for name in ("bff", "proxy", "shop"):
        edge, target, ctx, _ = compile_sample(name, "prod")
        plan = target.plan(ctx)
        folder = write(target.emit(ctx), tmp_path_factory.mktemp(name))
        extra = {**LOG_GROUP, **TARGETS}
        runs = {"edge": edge, "plan": plan}
        aws.run(folder / "deploy.sh", extra)
        runs["first"] = (state(aws, plan), api_state(aws, plan.api.name))
        runs["redeploy"] = aws.run(folder / "deploy.sh", extra)
        runs["second"] = (state(aws, plan), api_state(aws, plan.api.name))
        aws.run(folder / "destroy.sh")
        runs["destroyed"] = (state(aws, plan), api_state(aws, plan.api.name))
        aws.run(folder / "destroy.sh")
        runs["destroyed_again"] = (state(aws, plan), api_state(aws, plan.api.name))
        out[name] = runs
    return out


@pytest.mark.parametrize("name", ["bff", "proxy", "shop"])
def test_deploy_twice_keeps_every_id_and_destroy_leaves_nothing(deployed, name):
    runs = deployed[name]
    assert runs["second"] == runs["first"]
    assert "replacing it:" not in runs["redeploy"].stderr and "replacing the" not in runs["redeploy"].stderr
    for after in ("destroyed", "destroyed_again"):
        alb, api = runs[after]
        assert is_empty(alb) and api == {"api": None, "vpc_links": []}


@pytest.mark.parametrize("name", ["bff", "proxy", "shop"])
def test_the_api_read_back_carries_the_routes_header_mappings(deployed, name):
    edge, (alb, api) = deployed[name]["edge"], deployed[name]["first"]
    plan = deployed[name]["plan"]
    assert [r["key"] for r in api["routes"]] == sorted(r.key for r in plan.api.routes)
    gw_integrations = {d.removeprefix("edgec route "): i for d, i in api["integrations"].items()}
    for route in edge.routes:
        if route.name not in gw_integrations:
            continue  # its route keys belong to another route with the same settings
        got = gw_integrations[route.name]
        assert got["parameters"] == apigw.request_parameters(route)
        mappings = apigw.header_mappings(route.response_headers, route)
        assert got["responses"] == ({s: mappings for s in apigw.STATUSES} if mappings else {})
    aggregates = [r.name for r in edge.routes if r.action.type == "aggregate"]
    rules = [r for lst in alb["listeners"].values() for got in lst for r in got["rules"]]
    for rule in rules:
        if rule["route"] in aggregates:
            assert rule["actions"][-1]["FixedResponseConfig"]["StatusCode"] == "501"
    assert {r["route"] for r in rules} >= set(aggregates)
