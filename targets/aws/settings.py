"""Deployment inputs: where the load balancer lives, not what it does.

Each input is named twice: as a key of the .edge file's `target aws { }` block (in an env
block, or in `vars { }` for every env), which the build bakes into the script as its
default, and as an environment variable `EDGE_AWS_<KEY>` read when the script runs, which
wins over the file. Lists are written as lists in the file and as space-separated words in
the environment.
Target addresses default to the upstream's servers and are overridden per upstream
with `EDGE_AWS_TARGETS_<UPSTREAM>` ("10.0.1.10:8080 10.0.1.11:8080").
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from edgec import ir
from edgec.diagnostics import Sink, did_you_mean

REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"
TARGET = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$"


@dataclass(frozen=True)
class Input:
    key: str  # its key in `target aws { }`
    pattern: str  # every word must match (checked at build time and again when the script runs)
    is_list: bool
    help: str
    fallback: str = ""  # the default when neither the file nor the environment gives one

    @property
    def variable(self) -> str:
        """The scripts' shell variable holding it."""
        return f"aws_{self.key}"

    @property
    def origin(self) -> str:
        """Where the file gives it."""
        return f"{self.key} in target aws {{ }}"

    @property
    def environ(self) -> str:
        return f"EDGE_AWS_{self.key.upper()}"


INPUTS = (
    Input("region", REGION, False, "the AWS region, e.g. eu-west-1"),
    Input("vpc", r"^vpc-[0-9a-z]+$", False, "the VPC of the target groups"),
    Input("subnets", r"^subnet-[0-9a-z]+$", True, "subnets in at least two availability zones"),
    Input("security_groups", r"^sg-[0-9a-z]+$", True, "security groups of the load balancer"),
    Input("certificate", r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$", False,
          "the ACM certificate ARN of the HTTPS listeners"),
    Input("log_group", r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9_./#-]+(:\*)?$", False,
          "the CloudWatch Logs group ARN of the HTTP API's access log (gateway=apigw)"),
    Input("scheme", r"^(internet-facing|internal)$", False, "internet-facing or internal",
          "internet-facing"),
)
BY_KEY = {i.key: i for i in INPUTS}


def targets_environ(upstream: str) -> str:
    return "EDGE_AWS_TARGETS_" + re.sub(r"[^A-Za-z0-9]", "_", upstream).upper()


def is_ipv4(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        return False


def file_values(edge: ir.Edge, sink: Sink) -> dict[str, tuple[str, ...]]:
    """The chosen env's `target aws { }` settings, checked; key → words."""
    out: dict[str, tuple[str, ...]] = {}
    block = edge.settings_for("aws")
    for setting in block.settings if block else ():
        spec = BY_KEY.get(setting.key)
        if spec is None:
            guess = did_you_mean(setting.key, list(BY_KEY))
            sink.error("E412", f"'{setting.key}' is not a setting of the aws target", setting.span,
                       hint=f"did you mean '{guess}'?" if guess else "settings: " + ", ".join(BY_KEY))
            continue
        words = setting.value if isinstance(setting.value, tuple) else (setting.value,)
        if isinstance(setting.value, tuple) != spec.is_list:
            sink.error("E412", f"aws {spec.key} must be {'a list' if spec.is_list else 'one string'}",
                       setting.span, hint=spec.help)
            continue
        bad = [w for w in words if not re.fullmatch(spec.pattern, w)]
        if bad:
            sink.error("E412", f"aws {spec.key}: {bad[0]!r} is not {spec.help}", setting.span,
                       hint=f"it must match {spec.pattern}")
            continue
        if spec.key == "subnets" and len(words) < 2:
            sink.error("E412", "an ALB needs subnets in at least two availability zones", setting.span,
                       hint='subnets ["subnet-...", "subnet-..."]')
            continue
        out[spec.key] = words
    return out
