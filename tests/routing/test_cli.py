"""edgec explain, test and diff through the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgec.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "conformance" / "corpus"

EDGE = '''edge "t" {
  env dev { host = "dev.example" users = "127.0.0.1:9001" }
  env prod { host = "api.example" users = "10.0.0.1:8080" k = "${secret:PROD_KEY}" }
  listen http 8080
  upstream users { server ${users} }
  upstream rest { server "127.0.0.1:9002" weight 2 server "127.0.0.1:9003" }
  route users {
    match host ${host} path prefix "/api/users" method GET
    request_header set "X-Env" "${env}"
    strip_prefix "/api"
    rate_limit 10/s
    forward users
  }
  route api {
    match path prefix "/api"
    forward rest 90%, users 10%
  }
  route old {
    match path prefix "/old"
    redirect 301 prefix "/api"
  }
}
'''


@pytest.fixture
def edge_file(tmp_path):
    path = tmp_path / "t.edge"
    path.write_text(EDGE)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_text_names_winner_losers_and_backend_request(edge_file, capsys):
    code, out, _ = run(capsys, "explain", edge_file, "--env", "dev", "GET", "http://dev.example:8080/api/users/7?x=1",
                       "-H", "Accept: text/html")
    assert code == 0
    assert "→ route 'users' (match 1, line 8): forward" in out
    assert "route 'api' match 1" in out and "lost on host: exact host 'dev.example' beats no host condition" in out
    assert "backend receives: GET /users/7?x=1  Host: dev.example:8080" in out
    assert "X-Env: dev" in out and "Accept: text/html" in out
    assert "users  weight 1 (100%)" in out and "servers 127.0.0.1:9001" in out
    assert "rate_limit: count 10" in out


def test_explain_json(edge_file, capsys):
    code, out, _ = run(capsys, "explain", edge_file, "--env", "dev", "GET", "/api/orders", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["outcome"]["route"] == "api"
    assert [(u["upstream"], u["share"]) for u in data["upstreams"]] == [("rest", 0.9), ("users", 0.1)]
    assert data["upstreams"][0]["servers"] == ["127.0.0.1:9002 weight 2", "127.0.0.1:9003"]
    assert data["others"] == []


def test_explain_redirect_and_no_match(edge_file, capsys):
    code, out, _ = run(capsys, "explain", edge_file, "--env", "dev", "GET", "/old/x?q=1", "-H", "Host: h.example")
    assert code == 0 and "Location: http://h.example:8080/api/x?q=1" in out
    code, out, _ = run(capsys, "explain", edge_file, "--env", "dev", "GET", "/nothing")
    assert code == 0 and "→ 404 (no route matches)" in out


@pytest.mark.parametrize("argv,code", [
    (["GET", "/x", "-H", "no colon"], 2),
    (["GET", "ftp://x/"], 2),
    (["GET", "/x", "--env", "nope"], 1),
])
def test_explain_errors(edge_file, capsys, argv, code):
    args = ["explain", edge_file] + (["--env", "dev"] if "--env" not in argv else []) + argv
    assert run(capsys, *args)[0] == code


CASES_OK = '''cases:
  - name: users
    request: {url: /api/users/1, host: dev.example}
    expect: {route: users, upstream: users, path: /users/1, headers: {X-Env: dev}, status: 200}
  - name: split
    request: {url: /api/x}
    expect: {route: api, weights: {rest: 0.9, users: 0.1}}
  - name: old
    request: {url: /old/a, host: h.example}
    expect: {status: 301, location: "http://h.example:8080/api/a"}
'''


def test_test_command_passes(edge_file, tmp_path, capsys):
    cases = tmp_path / "ok.yaml"
    cases.write_text(CASES_OK)
    code, out, _ = run(capsys, "test", edge_file, "--env", "dev", cases)
    assert code == 0 and "PASS  users" in out and "3 cases: 3 passed, 0 failed" in out


def test_test_command_reports_failures(edge_file, tmp_path, capsys):
    cases = tmp_path / "bad.yaml"
    cases.write_text(CASES_OK.replace("path: /users/1", "path: /api/users/1").replace("status: 301", "status: 302"))
    code, out, _ = run(capsys, "test", edge_file, "--env", "dev", cases)
    assert code == 1
    assert "FAIL  users" in out and "backend path: expected '/api/users/1', got '/users/1'" in out
    assert "FAIL  old" in out and "status: expected 302, got 301" in out
    assert "3 cases: 1 passed, 2 failed" in out
    code, out, _ = run(capsys, "test", edge_file, "--env", "dev", cases, "--format", "json")
    assert code == 1 and json.loads(out)["failed"] == 2


@pytest.mark.parametrize("text,message", [
    ("cases: []", "non-empty list"),
    ("cases:\n  - {name: a, request: {url: x}, expect: {route: r}}", "needs `url`"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {rout: r}}", "unknown key rout"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {route: r}, requires: [match.hdr]}", "unknown feature"),
    ("cases: [unclosed", "not valid YAML"),
    ("cases:\n  - {name: a, request: {url: 'http://[x/'}, expect: {route: r}}", "is not valid"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {headers: [a]}}", "expect.headers must be a mapping"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {weights: {a: x}}}", "share between 0 and 1"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {status: ok}}", "whole number"),
    ("cases:\n  - {name: a, request: {url: /}, expect: {absent_headers: X}}", "list of header names"),
    ("cases:\n  - {name: a, request: {url: /, port: 0}, expect: {route: r}}", "port"),
    ("- just a list", "mapping with `cases:`"),
])
def test_test_command_usage_errors(edge_file, tmp_path, capsys, text, message):
    cases = tmp_path / "c.yaml"
    cases.write_text(text)
    code, _, err = run(capsys, "test", edge_file, "--env", "dev", cases)
    assert code == 2 and message in err


def test_test_command_on_a_corpus_file_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "edgec", "test", str(CORPUS / "redirect_port.edge"),
                           str(CORPUS / "redirect_port.yaml"), "-q"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "15 cases: 15 passed, 0 failed" in proc.stdout


def test_diff(edge_file, capsys):
    code, out, _ = run(capsys, "diff", edge_file, "--env", "dev", "--env", "prod")
    assert code == 1
    assert '~ upstreams[users].servers[0].host: "127.0.0.1" → "10.0.0.1"' in out
    assert '~ routes[users].matches[0].hosts: ["dev.example"] → ["api.example"]' in out
    assert '~ routes[users].request_headers.set[0]: ["X-Env", "dev"] → ["X-Env", "prod"]' in out
    assert "env" not in [line.split(":")[0].lstrip("~ ") for line in out.splitlines()]
    code, out, _ = run(capsys, "diff", edge_file, "--env", "dev", "--env", "dev")
    assert code == 0 and "no differences" in out


def test_diff_masks_secrets(tmp_path, capsys):
    path = tmp_path / "s.edge"
    path.write_text('''edge "s" {
  env dev { k = "${secret:DEV_KEY}" }
  env prod { k = "${secret:PROD_KEY}" }
  upstream v1 { server "127.0.0.1:9001" }
  auth jwt j { secret ${k} algorithms HS256 }
  route r { auth j forward v1 }
}''')
    code, out, _ = run(capsys, "diff", path, "--env", "dev", "--env", "prod", "--format", "json")
    assert code == 1
    assert json.loads(out)["changes"] == [{"path": "auth[j].secret", "op": "changed", "a": "${secret:DEV_KEY}",
                                           "b": "${secret:PROD_KEY}"}]


@pytest.mark.parametrize("argv", [["--env", "dev"], ["--env", "dev", "--env", "nope"]])
def test_diff_trouble_exits_2_as_diff_and_git_do(edge_file, capsys, argv):
    """A usage error and an environment that does not compile are trouble (2), never 'different' (1)."""
    assert run(capsys, "diff", edge_file, *argv)[0] == 2


# ---- what a newcomer trips over ------------------------------------------------------------------

SHOP = Path(__file__).resolve().parents[2] / "samples" / "shop.edge"


def test_a_path_without_a_host_that_finds_no_route_says_which_host_would(capsys):
    code, out, _ = run(capsys, "explain", SHOP, "--env", "dev", "GET", "/api/v1/users")
    assert code == 0 and "→ 404 (no route matches)" in out
    assert ("hint: no Host was given, so the request was sent with Host edge.test; route 'users' takes it "
            "with Host shop.localhost") in out
    code, out, _ = run(capsys, "explain", SHOP, "--env", "dev", "GET", "/api/v1/users", "-H", "Host: other.example")
    assert "hint" not in out  # a Host the user chose is not second-guessed


def test_a_failing_case_without_a_host_gets_the_same_hint(tmp_path, capsys):
    cases = tmp_path / "c.yaml"
    cases.write_text("cases:\n  - name: users\n    request: {method: GET, url: /api/v1/users}\n"
                     "    expect: {route: users}\n")
    code, out, _ = run(capsys, "test", SHOP, "--env", "dev", cases)
    assert code == 1 and "hint: no Host was given" in out and "Host shop.localhost" in out


@pytest.mark.parametrize("command", ["explain", "test"])
def test_an_unknown_method_is_a_usage_error(command, tmp_path, capsys):
    if command == "explain":
        code, _, err = run(capsys, "explain", SHOP, "--env", "dev", "FETCH", "/api/v1/users")
    else:
        cases = tmp_path / "c.yaml"
        cases.write_text("cases:\n  - name: x\n    request: {method: FETCH, url: /}\n    expect: {route: null}\n")
        code, _, err = run(capsys, "test", SHOP, "--env", "dev", cases)
    assert code == 2
    assert "unknown method 'FETCH'; did you mean 'PATCH'?" in err


def test_a_split_written_as_upstream_points_at_weights(tmp_path, capsys):
    cases = tmp_path / "c.yaml"
    cases.write_text("cases:\n  - name: split\n    request: {url: /api/v1/orders}\n"
                     "    expect: {upstream: {orders: 0.9, orders_v2: 0.1}}\n")
    code, _, err = run(capsys, "test", SHOP, "--env", "dev", cases)
    assert code == 2
    assert "expect.upstream is one name (a split is `weights: {a: 0.9, b: 0.1}`)" in err


def test_the_example_cases_file_passes():
    proc = subprocess.run([sys.executable, "-m", "edgec", "test", str(SHOP), "--env", "dev",
                           str(SHOP.with_name("shop.cases.yaml"))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6 cases: 6 passed, 0 failed" in proc.stdout
