"""The typed plan's vocabulary: one AWS API call, and the values known only at run time.

A Call holds the API parameters exactly as botocore's service model names them, so that
the same object is validated offline (validate.py) and rendered as an `aws` command line
(render.py): what is checked is what runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgec.diagnostics import Span

DUMMY_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge/0123456789abcdef"


@dataclass(frozen=True)
class Ref:
    """One word held by a shell variable when the script runs (an ARN, a lock token)."""

    var: str
    dummy: str = DUMMY_ARN  # what the offline validator sees in its place


@dataclass(frozen=True)
class Words:
    """A shell array when the script runs (subnets, security groups)."""

    var: str
    dummy: tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    """Where a call comes from, for diagnostics: what it does and the source span."""

    what: str
    span: Span | None = None


@dataclass
class Call:
    service: str  # "elbv2" | "wafv2"
    operation: str  # botocore operation name, e.g. "CreateRule"
    params: dict[str, Any]
    origin: Origin
    query: str | None = None  # JMESPath for --query (output text)


def dummies(value: Any) -> Any:
    """The parameters as the validator sees them: run-time values replaced by plausible ones."""
    if isinstance(value, Ref):
        return value.dummy
    if isinstance(value, Words):
        return list(value.dummy)
    if isinstance(value, dict):
        return {k: dummies(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [dummies(v) for v in value]
    return value
