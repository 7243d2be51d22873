"""Secrets: `${secret:NAME}` is a reference in the IR, resolved only where a credential is used
(build, run) from the environment variable NAME or the file NAME in the secrets directory;
literal credentials are refused; no output edgec prints ever carries a secret's value."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgec import ir
from edgec.cli import main
from edgec.ir import to_json
from edgec.pipeline import analyse, secret_resolver

from ..conftest import ROOT


def edgec_with(env: dict, *args) -> subprocess.CompletedProcess:
    """edgec run with exactly this environment."""
    return subprocess.run([sys.executable, "-m", "edgec", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env)

VALUE = "s3cr3t-VALUE-4f1c9a"  # what the environment holds: must never be printed

SOURCE = '''edge "vault" {
  env dev {
    backend = "127.0.0.1:9001"
  }
  env prod {
    backend = "10.0.0.5:8080"
  }
  auth jwt tokens {
    issuer "https://auth.example/"
    algorithms HS256
    secret ${secret:EDGEC_TEST_JWT_KEY}
  }
  auth api_key partners {
    keys ${secret:EDGEC_TEST_PARTNER_KEY} ${secret:EDGEC_TEST_PARTNER_KEY_2}
  }
  auth basic staff {
    htpasswd ${secret:EDGEC_TEST_HTPASSWD}
  }
  upstream app {
    server ${backend}
  }
  route api {
    match path prefix "/api"
    auth tokens
    forward app
  }
  route partners {
    match path prefix "/partners"
    auth partners
    forward app
  }
  route admin {
    match path prefix "/admin"
    auth staff
    forward app
  }
}
'''
SECRETS = ("EDGEC_TEST_JWT_KEY", "EDGEC_TEST_PARTNER_KEY", "EDGEC_TEST_PARTNER_KEY_2", "EDGEC_TEST_HTPASSWD")


@pytest.fixture
def secret_env():
    env = dict(os.environ)
    env.update({name: VALUE for name in SECRETS})
    env["EDGEC_TEST_HTPASSWD"] = f"admin:{{SHA}}{VALUE}"
    return env


def test_secrets_are_references_in_the_ir():
    edge = analyse(SOURCE, "v.edge", env="prod").edge
    jwt, keys, basic = (edge.auth_provider(n) for n in ("tokens", "partners", "staff"))
    assert jwt.secret == ir.Secret("EDGEC_TEST_JWT_KEY")
    assert keys.keys == (ir.Secret("EDGEC_TEST_PARTNER_KEY"), ir.Secret("EDGEC_TEST_PARTNER_KEY_2"))
    assert basic.htpasswd == ir.Secret("EDGEC_TEST_HTPASSWD")
    data = to_json(edge)
    assert {"secret": "EDGEC_TEST_JWT_KEY"} in [a.get("secret") for a in data["auth"]]


def test_no_printed_output_holds_a_secret_value_even_when_the_environment_sets_it(tmp_path, secret_env):
    path = tmp_path / "v.edge"
    path.write_text(SOURCE)
    runs = [
        ("ir", path, "--env", "prod"), ("ir", path, "--env", "dev", "--format", "yaml"),
        ("lint", path), ("lint", path, "--format", "json"), ("lint", path, "--format", "sarif"),
        ("lint", path, "--target", "all"), ("diff", path, "--env", "dev", "--env", "prod"),
        ("explain", path, "--env", "prod", "GET", "http://x/partners"),
        ("build", path, "--env", "prod", "--target", "spring", "-o", tmp_path / "out"),
    ]
    for args in runs:
        proc = edgec_with(secret_env, *args)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert VALUE not in proc.stdout + proc.stderr, args
        assert proc.returncode in (0, 1, 2), (args, proc.stderr)  # diff exits 1 when envs differ
    assert (tmp_path / "out" / "pom.xml").exists()
    for generated in (tmp_path / "out").rglob("*"):
        if generated.is_file():
            assert VALUE not in generated.read_text(errors="replace"), generated


@pytest.mark.parametrize("block,literal", [
    ('auth api_key k {\n    keys "' + VALUE + '"\n  }', VALUE),
    ('auth jwt k {\n    algorithms HS256\n    secret "' + VALUE + '"\n  }', VALUE),
    ('auth basic k {\n    htpasswd "admin:$apr1$' + VALUE + '"\n  }', VALUE),
])
def test_a_literal_credential_is_refused_and_never_echoed(block, literal, tmp_path, capsys):
    source = ('edge "x" {\n  ' + block + '\n  upstream app {\n    server "127.0.0.1:9001"\n  }\n'
              '  route r {\n    auth k\n    forward app\n  }\n}\n')
    result = analyse(source, "x.edge")
    [d] = result.diagnostics
    assert (d.code, d.line) == ("E110", 3 if "api_key" in block else 4 if "jwt" in block else 3)
    assert "${secret:" in d.hint
    path = tmp_path / "x.edge"
    path.write_text(source)
    for fmt in ("text", "json", "sarif"):
        assert main(["lint", str(path), "--format", fmt]) == 1
        out, err = capsys.readouterr()
        assert "E110" in out and literal not in out + err, fmt
        if fmt == "text":
            assert "*" * len(literal) in out  # the excerpt keeps its shape, not its content


def test_a_path_is_not_taken_for_credentials():
    source = ('edge "x" {\n  auth basic k {\n    htpasswd "/etc/edge/users.htpasswd"\n  }\n'
              '  route r {\n    auth k\n    respond 200\n  }\n}\n')
    assert analyse(source, "x.edge").diagnostics == []


def test_a_secret_outside_a_credential_is_refused():
    source = ('edge "x" {\n  route r {\n    respond 200 "${secret:EDGEC_TEST_JWT_KEY}"\n  }\n}\n')
    [d] = analyse(source, "x.edge").diagnostics
    assert (d.code, d.line, d.column) == ("E109", 3, 18)


@pytest.mark.parametrize("name", ["", "../etc/passwd", "A-B", "1ABC", "a b"])
def test_a_secret_name_is_an_environment_variable_name(name):
    source = ('edge "x" {\n  auth api_key k {\n    keys ${secret:' + name + '}\n  }\n'
              '  route r {\n    auth k\n    respond 200\n  }\n}\n')
    codes = [d.code for d in analyse(source, "x.edge").diagnostics]
    assert codes == ["E112"], codes


def test_the_resolver_reads_the_environment_first_then_the_secrets_directory(tmp_path, monkeypatch):
    (tmp_path / "FROM_FILE").write_text(VALUE + "\n")
    (tmp_path / "BOTH").write_text("file")
    monkeypatch.setenv("BOTH", "environment")
    monkeypatch.delenv("FROM_FILE", raising=False)
    monkeypatch.delenv("NOWHERE", raising=False)
    resolve = secret_resolver(str(tmp_path))
    assert resolve(ir.Secret("FROM_FILE")) == VALUE
    assert resolve(ir.Secret("BOTH")) == "environment"
    with pytest.raises(KeyError):
        resolve(ir.Secret("NOWHERE"))
    with pytest.raises(KeyError):
        secret_resolver(None)(ir.Secret("FROM_FILE"))


def test_a_secret_missing_at_build_time_is_a_diagnostic_and_nothing_is_written(tmp_path):
    path = tmp_path / "x.edge"
    path.write_text('edge "x" {\n  auth basic staff {\n    htpasswd ${secret:EDGEC_TEST_UNSET_SECRET}\n  }\n'
                    '  upstream app {\n    server "127.0.0.1:9001"\n  }\n'
                    '  route r {\n    auth staff\n    forward app\n  }\n}\n')
    env = {k: v for k, v in os.environ.items() if k != "EDGEC_TEST_UNSET_SECRET"}
    proc = edgec_with(env, "build", path, "--target", "nginx", "-o", tmp_path / "out")
    assert proc.returncode == 1
    assert "error[E404] secret 'EDGEC_TEST_UNSET_SECRET' of auth 'staff' is not set" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_secret_from_the_secrets_directory_reaches_a_build_only_in_a_private_file(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "EDGEC_TEST_PARTNER_KEY").write_text(VALUE)
    path = tmp_path / "x.edge"
    path.write_text('edge "x" {\n  auth api_key partners {\n    keys ${secret:EDGEC_TEST_PARTNER_KEY}\n  }\n'
                    '  upstream app {\n    server "127.0.0.1:9001"\n  }\n'
                    '  route r {\n    auth partners\n    forward app\n  }\n}\n')
    env = {k: v for k, v in os.environ.items() if k != "EDGEC_TEST_PARTNER_KEY"}
    proc = edgec_with(env, "build", path, "--target", "nginx", "-o", tmp_path / "out", "--secrets-dir", secrets)
    assert proc.returncode == 0, proc.stderr
    assert VALUE not in proc.stdout + proc.stderr
    holders = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and VALUE in p.read_text()]
    assert holders and all(p.stat().st_mode & 0o077 == 0 for p in holders), holders
