"""What the aws target costs: build time (plan + botocore validation + rendering) and the
deploy/redeploy/destroy scripts run with the real AWS CLI against moto_server.

    python bench/aws_deploy.py [--runs 5]

Build time is CPU time per `emit`, median of the runs, for tests/aws/edges/alb.edge and for
a generated edge of 45 routes (45 rules). The scripts are run once each against a
moto_server started here on a free loopback port (stopped by PID); each `aws` invocation is
counted by a shim in front of the real CLI, because the CLI's own start (~0.3 s of Python
imports per call) is what a run costs against an emulator. Against AWS itself, provisioning
the load balancer (minutes) dominates instead.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.aws.build import build  # noqa: E402  (the repository's own test helpers)
from tests.conftest import free_port  # noqa: E402

SHIM = """#!/usr/bin/env bash
echo x >> "$AWS_CALLS"
exec {real} "$@"
"""


def generated(routes: int) -> str:
    lines = ['edge "bench" {', '  env prod { target aws { region "us-east-1" } }', "  listen http 80"]
    lines += [f'  upstream u{i} {{ server "10.0.{i}.10:8080" }}' for i in range(5)]
    lines += [f'  route r{i} {{ match path prefix "/svc{i}" method GET POST forward u{i % 5} }}'
              for i in range(routes)]
    return "\n".join(lines + ["}"]) + "\n"


def build_time(path: Path, source: str | None, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        _, files = build(path, "prod", source=source)
        times.append(time.process_time() - start)
        assert files
    return statistics.median(times)


def run_scripts(folder: Path) -> list[tuple[str, float, int]]:
    import boto3
    bin_dir = Path(sys.executable).parent
    port = free_port()
    proc = subprocess.Popen([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        time.sleep(2)
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        ec2 = boto3.client("ec2", **kw)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
                   ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
        group = ec2.create_security_group(GroupName="e", Description="e", VpcId=vpc)["GroupId"]
        cert = boto3.client("acm", **kw).request_certificate(DomainName="api.example.com")["CertificateArn"]
        shim_dir = folder / "shim"
        shim_dir.mkdir()
        (shim_dir / "aws").write_text(SHIM.format(real=bin_dir / "aws"))
        (shim_dir / "aws").chmod(0o755)
        calls = folder / "calls"
        env = {"PATH": f"{shim_dir}:{bin_dir}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
               "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_CALLS": str(calls), "EDGE_AWS_VPC": vpc,
               "EDGE_AWS_SUBNETS": " ".join(subnets), "EDGE_AWS_SECURITY_GROUPS": group,
               "EDGE_AWS_CERTIFICATE": cert}
        out = []
        for label, script in (("deploy (creates)", "deploy.sh"), ("deploy again (converges)", "deploy.sh"),
                              ("destroy", "destroy.sh"), ("destroy again", "destroy.sh")):
            calls.write_text("")
            start = time.perf_counter()
            subprocess.run(["bash", str(folder / script)], env=env, check=True, capture_output=True)
            out.append((label, time.perf_counter() - start, len(calls.read_text().splitlines())))
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    edge = ROOT / "tests" / "aws" / "edges" / "alb.edge"
    print(f"build alb.edge (5 routes, 7 rules): {build_time(edge, None, args.runs) * 1000:.0f} ms CPU")
    print(f"build generated (45 routes, 45 rules): "
          f"{build_time(ROOT / 'bench.edge', generated(45), args.runs) * 1000:.0f} ms CPU")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in build(edge, "prod")[1].items():
            (folder / name).write_text(text)
        print("| run | wall s | aws calls | s per call |\n|---|---|---|---|")
        for label, seconds, count in run_scripts(folder):
            print(f"| {label} | {seconds:.1f} | {count} | {seconds / max(count, 1):.2f} |")


if __name__ == "__main__":
    main()
