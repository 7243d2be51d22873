"""The CLI skeleton: usage errors, the schema command, and build's all-or-nothing output."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .conftest import ROOT


def edgec(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgec", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT)


def test_schema_is_a_valid_draft_2020_12_schema():
    import jsonschema
    out = edgec("schema")
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_sample_ir_validates_against_the_schema():
    from edgec.ir import to_json
    from edgec.lower import environments
    from edgec.parse import parse
    from edgec.pipeline import analyse
    from edgec.schema import validate_ir
    for path in sorted((ROOT / "samples").glob("*.edge")):
        text = path.read_text()
        for env in environments(parse(text, str(path))) or [None]:
            result = analyse(text, str(path), env=env)
            assert result.ok, [d.message for d in result.diagnostics]
            assert validate_ir(to_json(result.edge)) == []


def test_unknown_target_is_a_usage_error(tmp_path):
    out = edgec("build", "samples/shop.edge", "--env", "dev", "--target", "nosuch", "-o", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "unknown target 'nosuch'" in out.stderr
    assert not (tmp_path / "o").exists()


def test_no_command_is_a_usage_error():
    assert edgec().returncode == 2


def test_build_without_env_names_the_environments(tmp_path):
    out = edgec("ir", "samples/shop.edge")
    assert out.returncode == 1
    assert "E103" in out.stderr and "dev, prod" in out.stderr


def test_the_only_environment_needs_no_env(tmp_path):
    path = tmp_path / "one.edge"
    path.write_text('edge "one" {\n  env dev {\n    port = 8080\n  }\n\n  listen http ${port}\n\n'
                    '  route r {\n    respond 200 "ok"\n  }\n}\n')
    out = edgec("ir", str(path))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["listeners"][0]["port"] == 8080


def test_lint_says_it_checked_on_a_terminal_and_is_silent_with_quiet(tmp_path):
    """A person sees '2 files, 0 problems'; pre-commit and scripts (no terminal) see nothing."""
    import pty
    files = [str(ROOT / "samples" / "canary.edge"), str(ROOT / "samples" / "proxy.edge")]

    def on_terminal(*extra):
        leader, follower = pty.openpty()
        proc = subprocess.run([sys.executable, "-m", "edgec", "lint", *files, *extra], stdout=follower,
                              stderr=subprocess.PIPE, text=True)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        return proc.returncode, b"".join(chunks).decode()

    assert on_terminal() == (0, "2 files, 0 problems\r\n")
    assert on_terminal("--quiet") == (0, "")
    assert edgec("lint", *files).stdout == ""


def test_targets_text_lists_the_options_build_takes():
    out = edgec("targets").stdout
    assert "options (edgec build -O KEY=VALUE):" in out
    from edgec.targets import get, names
    for name in names():
        for key in get(name).options:
            assert f"  {name}: -O {key}=..." in out


def test_defaults_a_target_approximates_are_one_line_and_what_the_file_writes_is_reported_where_written():
    lines = (ROOT / "samples" / "shop.edge").read_text().splitlines()
    users, orders = (lines.index(f"  upstream {name} {{") + 1 for name in ("users", "orders"))
    out = edgec("lint", "samples/shop.edge", "--env", "dev", "--target", "spring", "--no-fmt-check")
    w402 = [line for line in out.stdout.splitlines() if "warning[W402]" in line]
    summary = [line for line in w402 if "defaults the file does not set" in line]
    # at the first place a default applies (upstream users), where one suppression silences it
    assert summary == [f"samples/shop.edge:{users}:3: warning[W402] target 'spring' approximates defaults the file "
                       "does not set: observability.access_log (1), upstream.keepalive (2), upstream.passive_check "
                       "(3), upstream.timeouts (3)"]
    # `keepalive 64` is written in upstream orders: reported there, and only there
    keepalive = [line for line in w402 if "[upstream.keepalive]" in line]
    assert len(keepalive) == 1 and keepalive[0].startswith(f"samples/shop.edge:{orders}:3:")
    assert len(w402) == 4


def test_build_all_writes_every_target_that_can_express_the_file_and_names_the_others(tmp_path):
    out = edgec("build", "samples/shop.edge", "--env", "dev", "--target", "all", "-o", str(tmp_path / "o"))
    assert out.returncode == 1  # a target refused
    from edgec.targets import names
    refused = {name for name in names() if f"edgec build: target {name} refused this file (" in out.stderr}
    built = {p.name for p in (tmp_path / "o").iterdir()}
    assert built and refused and built | refused == set(names()) and not built & refused
    assert (tmp_path / "o" / "spring" / "pom.xml").is_file()  # each written whole
    # one target asked for and refused: nothing written at all
    out = edgec("build", "samples/shop.edge", "--env", "dev", "--target", sorted(refused)[0], "-o", str(tmp_path / "n"))
    assert out.returncode == 1 and not (tmp_path / "n").exists()
    # a file every target expresses (the storefront without the rate limit and the fixed answer
    # the Gateway API's standard channel lacks): all built, exit 0
    text = (ROOT / "samples" / "storefront.edge").read_text()
    text = text.replace("rate_limit 600/min by client_ip", "").replace('respond 200 "ok"', 'redirect 302 "/"')
    (tmp_path / "storefront.edge").write_text(text)
    out = edgec("build", str(tmp_path / "storefront.edge"), "--env", "prod", "--target", "all", "-o", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    assert {p.name for p in (tmp_path / "s").iterdir()} == set(names())
