"""Hostile strings in every string field: nothing in a generated script ever runs as a
command, and each value either arrives in AWS exactly as written or is a compile error
that says why (never a traceback)."""
from __future__ import annotations

import base64
import json
import subprocess

import pytest

from .build import build, plan_of
from .readback import state


def edge_string(text: str) -> str:
    """`text` as an .edge string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{escaped}"'


def payloads(canary: str = "canary") -> list[str]:
    """Command payloads; scripts run in a scratch folder, where `canary` appears if one runs."""
    return [f"$(touch {canary})", f"`touch {canary}`", f"'; touch {canary}; '", f'"; touch {canary}; "',
            f"$(touch${{IFS}}{canary})", f"`touch${{IFS}}{canary}`", f"\\'$(touch {canary})\n#"]


# (field, .edge source with {v} for the hostile value); each lands somewhere in the scripts
FIELDS = {
    "respond body": 'route r {{ match path exact "/r" respond 200 {v} }}',
    "header value": 'route r {{ match path exact "/r" header "X-H" = {v} respond 200 "ok" }}',
    "query value": 'route r {{ match path exact "/r" query "q" = {v} respond 200 "ok" }}',
    "path": 'route r {{ match path exact {v} respond 200 "ok" }}',
    "host": 'route r {{ match host {v} path exact "/r" respond 200 "ok" }}',
    "redirect host": 'route r {{ match path exact "/r" redirect 302 host {v} }}',
    "redirect path": 'route r {{ match path exact "/r" redirect 302 path {v} }}',
    "rewrite host": 'route r {{ match path exact "/r" rewrite host {v} forward a }}',
    "rewrite path": 'route r {{ match path exact "/r" rewrite path {v} forward a }}',
    "health path": 'route r {{ match path exact "/r" forward a }}',
    "header name": 'route r {{ match path exact "/r" header {v} = "x" respond 200 "ok" }}',
    "jwt issuer": 'auth jwt j {{ issuer {v} jwks "https://idp.example.com/jwks" }} '
                  'route r {{ match path exact "/r" auth j respond 200 "ok" }}',
    "jwt jwks": 'auth jwt j {{ issuer "https://idp.example.com/" jwks {v} }} '
                'route r {{ match path exact "/r" auth j respond 200 "ok" }}',
    "jwt audience": 'auth jwt j {{ issuer "https://idp.example.com/" jwks "https://idp.example.com/jwks" '
                    'audience {v} }} route r {{ match path exact "/r" auth j respond 200 "ok" }}',
    "rate limit header": 'route r {{ match path exact "/r" rate_limit 100/min by header {v} respond 200 "ok" }}',
    "edge name": 'route r {{ match path exact "/r" respond 200 "ok" }}',
    "aws input": 'route r {{ match path exact "/r" respond 200 "ok" }}',
}

PATHS = {"path", "redirect path", "rewrite path", "health path"}
CARRIED = {"respond body", "header value", "query value", "health path", "redirect path", "rewrite path",
           "jwt issuer", "jwt jwks", "jwt audience", "rate limit header"}


def source(field: str, value: str) -> str:
    quoted = edge_string(value)
    name = quoted if field == "edge name" else '"hostile"'
    health = f" health get {quoted}" if field == "health path" else ""
    aws_input = f" vpc {quoted}" if field == "aws input" else ""
    https = ' listen https 443 { tls cert "c.pem" key "k.pem" }' if field.startswith("jwt") else ""
    return (f'edge {name} {{\n  env prod {{ target aws {{ region "us-east-1"{aws_input} }} }}\n'
            f'  listen http 80 {{ redirect https }}{https}\n' if https else
            f'edge {name} {{\n  env prod {{ target aws {{ region "us-east-1"{aws_input} }} }}\n  listen http 80\n') + \
        (f'  upstream a {{ server "10.0.0.1:80"{health} }}\n  {FIELDS[field].format(v=quoted)}\n}}\n')


STUB = """#!/usr/bin/env bash
# records each call's arguments (base64, one per line, after their count) and answers
# like an empty account: nothing is found, the load balancer is active
{ printf '%s\\n' "$#"; for a in "$@"; do printf '%s' "$a" | base64 -w0; printf '\\n'; done; } >> "$AWS_STUB_LOG"
case "$*" in *State.Code*) echo active ;; *) echo None ;; esac
"""


def recorded_calls(log) -> list[list[str]]:
    lines = log.read_text().splitlines() if log.exists() else []
    calls, i = [], 0
    while i < len(lines):
        n = int(lines[i])
        calls.append([base64.b64decode(x).decode() for x in lines[i + 1:i + 1 + n]])
        i += 1 + n
    return calls


def leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, str):
        yield value


def arrived(calls, value: str) -> bool:
    for args in calls:
        for arg in args:
            if arg == value:
                return True
            try:
                if value in leaves(json.loads(arg)):
                    return True
            except ValueError:
                pass
    return False


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_values_are_quoted_or_refused(field, tmp_path):
    """Each generated script runs with a recording stand-in for the aws command: no payload
    runs, and the value reaches the aws command exactly; or the build says why not."""
    canary = tmp_path / "canary"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(STUB)
    (bin_dir / "aws").chmod(0o755)
    outcomes = []
    for i, payload in enumerate(payloads()):
        value = "/" + payload if field in PATHS else payload
        diagnostics, files = build(tmp_path / "hostile.edge", "prod", source=source(field, value))
        if not files:
            errors = [d for d in diagnostics if d.severity == "error"]
            assert errors and all(d.code.startswith(("E0", "E1", "E2", "E4")) for d in errors)
            outcomes.append("refused")
            continue
        log = tmp_path / f"calls-{i}.log"
        (tmp_path / "deploy.sh").write_text(files["deploy.sh"])
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "AWS_STUB_LOG": str(log), "EDGE_AWS_VPC": "vpc-1",
               "EDGE_AWS_SUBNETS": "subnet-1 subnet-2", "EDGE_AWS_SECURITY_GROUPS": "sg-1",
               "EDGE_AWS_CERTIFICATE": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"}
        done = subprocess.run(["bash", str(tmp_path / "deploy.sh")], capture_output=True, text=True, env=env,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert not canary.exists(), f"{field}: {value!r} ran"
        assert arrived(recorded_calls(log), value), f"{field}: {value!r} did not reach the aws command"
        outcomes.append("arrived")
    # fields ALB takes any visible text in must really carry the payloads
    assert ("arrived" in outcomes) == (field in CARRIED), outcomes


@pytest.mark.parametrize("field", FIELDS)
def test_a_control_character_never_reaches_aws(field, tmp_path):
    """A NUL written as an escape once reached the AWS API (redirect path) or crashed the build
    (health path): every string field refuses it at lint, with the field named."""
    text = source(field, "/a\x00b" if field in PATHS else "a\x00b").replace("\x00", "\\u0000")
    diagnostics, files = build(tmp_path / "nul.edge", "prod", source=text)
    assert not files
    assert [d.code for d in diagnostics if d.severity == "error"][:1] == ["E022"], diagnostics


def test_hostile_values_arrive_exactly_and_never_run(aws, tmp_path):
    """A deployable edge with command payloads in the body, header, query and path fields
    (the scripts run in tmp_path, so the relative canary lands there if anything runs)."""
    canary = tmp_path / "canary"
    body = "$(touch canary) `touch canary` '\"; touch canary\\ \n"
    header = "$(touch${IFS}canary)`touch${IFS}canary`'\";&|"
    query = "`touch${IFS}canary`$(id)'\";"
    path = "/a'b\"c$HOME&d@e:f+g~h"
    text = (f'edge "hostile" {{\n  env prod {{ target aws {{ region "us-east-1" }} }}\n  listen http 80\n'
            f'  route r {{\n    match path exact {edge_string(path)} header "X-Payload" = {edge_string(header)}'
            f' query "q" = {edge_string(query)}\n    respond 200 {edge_string(body)}\n  }}\n}}\n')
    edge_file = tmp_path / "hostile.edge"
    diagnostics, files = build(edge_file, "prod", source=text)
    assert files, [d.message for d in diagnostics]
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    aws.run(tmp_path / "deploy.sh")
    try:
        assert not canary.exists()
        [listener] = state(aws, plan_of(edge_file, "prod", source=text))["listeners"][80]
        [rule] = listener["rules"]
        conditions = {c["Field"]: c for c in rule["conditions"]}
        assert conditions["path-pattern"]["PathPatternConfig"]["Values"] == [path]
        assert conditions["http-header"]["HttpHeaderConfig"]["Values"] == [header]
        assert conditions["query-string"]["QueryStringConfig"]["Values"] == [{"Key": "q", "Value": query}]
        assert rule["actions"][0]["FixedResponseConfig"]["MessageBody"] == body
    finally:
        aws.run(tmp_path / "destroy.sh")
    assert not canary.exists()


def test_the_canary_would_notice(tmp_path):
    """The payloads do run when a script is careless, so the checks above can fail."""
    subprocess.run(["bash", "-c", f"echo \"{payloads()[0]}\""], check=True, capture_output=True, cwd=tmp_path)
    assert (tmp_path / "canary").exists()
