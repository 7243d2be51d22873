"""The quoting functions of the Spring target, against the real javac and ruamel.yaml, and the
token-bucket arithmetic of the rate limits."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from ruamel.yaml import YAML

from edgec import ir
from edgec.pipeline import analyse
from edgec.targets.spring.java import string
from edgec.targets.spring.routes import bucket_raised, token_bucket

from . import harness

NASTY = [
    "", "plain", 'quote " and \\ backslash', "\\u000a spelled", "\\\\u0022", "*/ /* //", "line\nbreak\r\n",
    "tab\tnul\0bell\x07del\x7f", "é 中 \u2028 \u2029 \ufeff", "😀 outside the BMP", "${x} {y} $1 %s %n",
    "\\", '"', "\\u", "\\uu0041", "\x1b[31m",
]


@pytest.mark.skipif(not shutil.which("javac"), reason="needs a JDK")
def test_java_literals_compile_to_the_exact_values(tmp_path):
    body = "\n".join(f"        out.write({string(v)}.getBytes(java.nio.charset.StandardCharsets.UTF_8)); "
                     f"out.write(0x1e);" for v in NASTY)
    (tmp_path / "Q.java").write_text(
        "public class Q {\n    public static void main(String[] a) throws Exception {\n"
        "        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();\n"
        f"{body}\n        System.out.write(out.toByteArray()); System.out.flush();\n    }}\n}}\n",
        encoding="ascii")  # every character outside ASCII is an escape
    subprocess.run(["javac", "-Xlint:all", "-Werror", "Q.java"], cwd=tmp_path, check=True)
    out = subprocess.run(["java", "-cp", str(tmp_path), "Q"], capture_output=True, check=True).stdout
    assert out.split(b"\x1e")[:-1] == [v.encode("utf-8") for v in NASTY]


def test_yaml_values_stay_literal():
    value = "a: b # c ${x} 'q' \"d\" - [e] {f} | > & * ! % @ `"
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    source = f"""edge "{text}" {{
      listen https 8443 {{ tls cert "{text}" key "/k" }}
      upstream u {{ server "127.0.0.1:1" health get "/h{text}" }}
      route r {{ forward u }}
    }}"""
    edge = analyse(source, "y.edge").edge
    assert edge is not None
    files, _ = harness.emit(edge)
    data = YAML(typ="safe").load(files["src/main/resources/application.yml"])
    escaped = value.replace("${", "\\${")  # Spring's placeholder escape
    assert data["spring"]["application"]["name"] == escaped
    assert data["spring"]["ssl"]["bundle"]["pem"]["edge"]["keystore"]["certificate"] == escaped
    assert data["spring"]["cloud"]["loadbalancer"]["clients"]["u"]["health-check"]["path"]["u"] == "/h" + escaped


@pytest.mark.parametrize("count, window, burst, expected", [
    (100, 60, 20, (5, 63, 3)),  # 5 tokens/s, 3 a request: 100/min; 21 requests at once
    (10, 1, 0, (10, 10, 1)),  # SCG refuses a bucket below a second's refill: 10 at once (warned)
    (1, 3600, 0, (1, 3600, 3600)),
    (7, 60, 2, (7, 180, 60)),
])
def test_token_bucket(count, window, burst, expected):
    replenish, capacity, requested = token_bucket(ir.RateLimit(count, window, ir.RateLimitKey("client_ip"), burst))
    assert (replenish, capacity, requested) == expected
    assert replenish / requested == pytest.approx(count / window)  # the steady rate
    assert capacity >= replenish  # what RedisRateLimiter.Config asserts at start-up
    rate = ir.RateLimit(count, window, ir.RateLimitKey("client_ip"), burst)
    # requests accepted at once: as the runtime does, unless the build warned otherwise
    assert capacity // requested == (bucket_raised(rate) or burst + 1)


def test_a_burst_below_a_seconds_refill_is_warned_at_its_route():
    from edgec.pipeline import analyse
    source = ('edge "t" {\n  upstream a {\n    server "127.0.0.1:1"\n  }\n'
              '  route r {\n    rate_limit 600/min by client_ip burst 4\n    forward a\n  }\n'
              '  route s {\n    rate_limit 600/min by client_ip burst 9\n    forward a\n  }\n}\n')
    found = [d for d in analyse(source, "t.edge", targets=("spring",)).diagnostics
             if d.code == "W402" and "rate_limit" in d.message]
    assert [(d.line, d.hint) for d in found] == [(5, "write `burst 9` to say what Spring does")]
