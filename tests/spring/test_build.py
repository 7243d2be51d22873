"""Every sample × env: the generated project is pinned (golden files) and builds with Maven
against the real Spring Cloud Gateway, with javac -Xlint:all clean. A sample that uses a
feature Spring Cloud Gateway cannot express has its E401 diagnostics pinned instead."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse

from ..conftest import ROOT, sample_envs
from . import harness

SAMPLES = sample_envs()


def _edge(path, env):
    result = analyse(path.read_text(), str(path), env=env)
    assert result.edge is not None, [d.message for d in result.diagnostics]
    return result.edge


for _param in SAMPLES:
    _path, _env = _param.values
    harness.register(f"sample-{_param.id}", _edge(_path, _env))
BOOT4 = harness.register("boot4-shop-dev", _edge(SAMPLES[0].values[0].parent / "shop.edge", "dev"), boot="4")
# edgec's own LoadBalancer classes against SCG 5.0 too (no sample has backup servers)
BALANCING = analyse("""edge "balancing" {
  upstream least {
    server "127.0.0.1:9001" weight 2
    server "127.0.0.1:9002"
    server "127.0.0.1:9003" backup
    balance least_conn
    health get "/health" every 2s timeout 1s
  }
  upstream turns {
    server "127.0.0.1:9004"
    server "127.0.0.1:9005" backup
    sticky cookie "S"
  }
  route a { match path prefix "/a" forward least }
  route b { forward turns }
}""", "balancing.edge").edge
BOOT4_BALANCING = harness.register("boot4-balancing", BALANCING, boot="4")


def _golden_text(files: dict[str, str]) -> str:
    return "".join(f"===== {rel}\n{text}" for rel, text in files.items())


@pytest.mark.parametrize("path, env", SAMPLES)
def test_sample_golden(path, env, file_regression):
    files, diagnostics = harness.emit(_edge(path, env))
    if files is None:
        text = "".join(f"{d.code} {d.message}\n" for d in diagnostics if d.severity == "error")
        file_regression.check(text, basename=f"{path.stem}-{env}-errors", extension=".txt")
    else:
        file_regression.check(_golden_text(files), basename=f"{path.stem}-{env}", extension=".txt")


def test_emission_is_deterministic():
    for param in SAMPLES:
        edge = _edge(*param.values)
        assert harness.emit(edge)[0] == harness.emit(edge)[0]


@pytest.mark.parametrize("path, env", SAMPLES)
def test_sample_builds(path, env, built):
    project = built[f"sample-{path.stem}-{env}"]
    if project.files is None:
        assert any(d.code == "E401" for d in project.diagnostics)
        return
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"


def test_boot4_project_builds(built):
    """-O boot=4: Spring Boot 4.0.7, Spring Cloud 2025.1.4 (SCG 5.0), the same sources."""
    project = built[BOOT4]
    assert "<version>4.0.7</version>" in project.files["pom.xml"]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"


def test_boot4_balancing_builds(built):
    project = built[BOOT4_BALANCING]
    assert "class BackupInstances" in project.files["src/main/java/edge/balancing/EdgeLoadBalancing.java"]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"


def test_package_option():
    edge = _edge(SAMPLES[0].values[0].parent / "proxy.edge", "dev")
    files, _ = harness.emit(edge, package="com.example.edge")
    assert "src/main/java/com/example/edge/EdgeRoutes.java" in files
    assert files["src/main/java/com/example/edge/EdgeRoutes.java"].startswith("package com.example.edge;")
    for bad in ("com.x-y", "com.class", "1abc", "a..b"):
        files, diagnostics = harness.emit(edge, package=bad)
        assert files is None and any(d.code == "E403" and "package" in d.message for d in diagnostics), bad
    files, diagnostics = harness.emit(edge, boot="2")
    assert files is None and [d.code for d in diagnostics if d.severity == "error"] == ["E403"]


def test_the_matching_notes_say_what_the_generated_code_does():
    """The capability notes of the match features come from the table the route code is built
    from; each names an EdgeMatching helper the generated project defines and calls."""
    import re as _re

    from edgec.targets import get
    from edgec.targets.spring.routes import MATCHING
    template = (ROOT / "targets" / "spring" / "templates" / "EdgeMatching.java.j2").read_text()
    capabilities = get("spring").capabilities
    for feature, (helper, note) in MATCHING.items():
        assert capabilities[feature].note == note
        assert note.startswith(f"EdgeMatching.{helper}")
        assert _re.search(rf"static Predicate<ServerWebExchange> {helper}\(", template), helper
    # the query helpers read one value, and the notes say the first (not "any value")
    assert "/** The first value of query parameter" in template
    for feature in ("match.query.exact", "match.query.regex"):
        assert "the first value of the parameter" in capabilities[feature].note
    assert not any("any value" in c.note for c in capabilities.values())


def test_only_a_choice_or_a_check_goes_through_the_load_balancer():
    """A route to one server forwards to it, as application.yml lists it (SCG's load-balancer
    filter costs every request a bean lookup and an instance list); a route carries a connect timeout only when it differs from the
    one the HTTP client is given."""
    edge = analyse("""edge "direct" {
  upstream one {
    server "127.0.0.1:9001"
    connect_timeout 2s
  }
  upstream two {
    server "127.0.0.1:9002"
    server "127.0.0.1:9003"
    connect_timeout 7s
  }
  upstream checked {
    server "[::1]:9004"
    health get "/h" every 2s timeout 1s
  }
  upstream v6 {
    server "[::1]:9005"
  }
  route a { match path prefix "/a" forward one }
  route b { match path prefix "/b" forward two }
  route c { match path prefix "/c" forward checked }
  route d { forward v6 }
}""", "direct.edge").edge
    files, _ = harness.emit(edge)
    java = files["src/main/java/edge/direct/EdgeRoutes.java"]
    routes = {chunk.split('"', 1)[0]: chunk for chunk in java.split('.route("')[1:]}
    server = '.uri(environment.getRequiredProperty("spring.cloud.discovery.client.simple.instances.{}[0].uri"))'
    assert server.format("one") in routes["a"] and "CONNECT_TIMEOUT_ATTR, 2000" in routes["a"]
    assert '.uri("lb://two")' in routes["b"] and "CONNECT_TIMEOUT_ATTR" not in routes["b"]
    assert '.uri("lb://checked")' in routes["c"] and "CONNECT_TIMEOUT_ATTR, 5000" in routes["c"]
    assert server.format("v6") in routes["d"]
    assert "CONNECT_TIMEOUT_MILLIS, 7000)" in files["src/main/java/edge/direct/EdgeApplication.java"]
    assert "connect-timeout" not in files["src/main/resources/application.yml"]


def test_a_project_without_a_balanced_upstream_or_a_sub_request_leaves_spring_cloud_loadbalancer_out():
    """With Spring Cloud LoadBalancer on the class path every request passes SCG's load-balancer
    filters, lb:// or not; a mirror goes through the load-balanced WebClient, to any upstream."""
    source = """edge "direct" {
  upstream one { server "127.0.0.1:9001" }
  upstream two { server "127.0.0.1:9002" }
  route a { match path prefix "/a" forward one%s }
}"""
    direct, _ = harness.emit(analyse(source % "", "direct.edge").edge)
    mirrored, _ = harness.emit(analyse(source % "\n    mirror two 10%", "direct.edge").edge)
    src = "src/main/java/edge/direct/"
    assert "spring-cloud-starter-loadbalancer" not in direct["pom.xml"]
    assert src + "EdgeLoadBalancing.java" not in direct and "LoadBalancerClient" not in direct[src + "EdgeApplication.java"]
    assert "loadbalancer" not in direct["src/main/resources/application.yml"]
    assert "spring-cloud-starter-loadbalancer" in mirrored["pom.xml"] and src + "EdgeLoadBalancing.java" in mirrored
    assert '@LoadBalancerClient(name = "two"' in mirrored[src + "EdgeApplication.java"]
