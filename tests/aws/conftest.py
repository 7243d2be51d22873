"""One moto_server per test session on a free loopback port (stopped by PID), and the
network every deployment needs (VPC, two subnets, security group, ACM certificate)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import free_port
from edgec.harness.processes import stop as stop_process

BIN = Path(sys.executable).parent  # the interpreter's own aws and moto_server, not a version-manager shim


@dataclass
class Aws:
    endpoint: str
    environ: dict[str, str]  # what deploy.sh / destroy.sh run with

    def client(self, service: str):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def run(self, script: Path, extra: dict[str, str] | None = None, check: bool = True):
        env = {**self.environ, **(extra or {})}
        done = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=300,
                              cwd=script.parent)
        if check:
            assert done.returncode == 0, f"{script.name} exited {done.returncode}:\n{done.stderr[-4000:]}"
        return done


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name) or pytest.skip(f"{name} is not installed")


@pytest.fixture(scope="session")
def aws(tmp_path_factory):
    yield from moto(tmp_path_factory)


def moto(tmp_path_factory):
    """A moto_server with the network every deployment needs, stopped by PID afterwards."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen([_tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        aws = Aws(endpoint, {})
        ec2 = aws.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                     AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
                   for i, zone in ((1, "a"), (2, "b"))]
        group = ec2.create_security_group(GroupName="edge", Description="edge", VpcId=vpc)["GroupId"]
        cert = aws.client("acm").request_certificate(DomainName="api.example.com")["CertificateArn"]
        _tool("aws")
        aws.environ = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "EDGE_AWS_REGION": "us-east-1", "EDGE_AWS_VPC": vpc,
            "EDGE_AWS_SUBNETS": " ".join(subnets), "EDGE_AWS_SECURITY_GROUPS": group,
            "EDGE_AWS_CERTIFICATE": cert,
        }
        yield aws
    finally:
        stop_process(proc)
        log.close()
