"""The conformance corpus through the real gateway: every generated project started with
`java -jar` on loopback (all at once, one JVM per corpus file), its upstreams pointed at
echo backends, and every case either passing or skipped with the reason the capability
table gives for spring."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.conformance import corpus
from edgec.harness.driver import check
from edgec.harness.echo import EchoServer

from . import harness

FILES = corpus.files()


def _project_id(casefile) -> str:
    return "corpus-" + Path(casefile.path).stem


def _buildable(casefile):
    """The file's edge with as many servers per upstream as the live run gives it (the command
    line points them at the echo backends): an upstream of one server is built without balancing."""
    edge = corpus.edge_of(casefile)
    count = {name: len(casefile.servers.get(name, ("echo",))) for name in corpus.upstream_names(edge)}
    return corpus.with_servers(edge, {name: [f"127.0.0.1:{9 + i}" for i in range(n)] for name, n in count.items()})


for _f in FILES:
    harness.register(_project_id(_f), _buildable(_f))
COMBINED = harness.register_combined("corpus-all", [_project_id(f) for f in FILES])


@dataclasses.dataclass
class Running:
    echoes: dict[str, EchoServer]
    ports: dict[int, int]


@pytest.fixture(scope="module")
def apps(built, tmp_path_factory):
    """Every corpus gateway that built, each in its own Spring context, all in one JVM
    (`java -jar` of a test project holding their sources): JVM start-up dominates."""
    logs = tmp_path_factory.mktemp("corpus-logs")
    running: dict[str, Running] = {}
    args: list[str] = []
    app = None
    try:
        usable = [f for f in FILES if built[_project_id(f)].jar is not None]
        echo_sets = [{name: EchoServer(name).start() for name in corpus.upstream_names(corpus.edge_of(f))}
                     for f in usable]
        free = iter(harness.free_ports(sum(len(corpus.edge_of(f).listeners) for f in usable)))
        for f, echoes in zip(usable, echo_sets):
            project = built[_project_id(f)]
            edge = corpus.edge_of(f)
            ports = {lst.port: next(free) for lst in edge.listeners}
            package = project.files["pom.xml"].split("<groupId>", 2)[2].split("<", 1)[0]
            args += ["--next"] if args else []
            args += [f"{package}.EdgeApplication", "--spring.main.banner-mode=off",
                     f"--spring.config.location=file:{project.dir / 'src/main/resources/application.yml'}"]
            args += harness.listener_args(edge, ports) + harness.server_args(
                edge, corpus.server_addresses(f, echoes))
            if any(lst.tls for lst in edge.listeners):
                args += [f"--spring.ssl.bundle.pem.edge.keystore.certificate={corpus.tls_dir() / 'cert.pem'}",
                         f"--spring.ssl.bundle.pem.edge.keystore.private-key={corpus.tls_dir() / 'key.pem'}"]
            running[f.path] = Running(echoes, ports)
        combined = built[COMBINED]
        assert combined.jar is not None, f"mvn package failed:\n{combined.build_log}"
        app = harness.SpringApp(combined.jar, args, 0, logs / "corpus.log").start()
        app.wait_ready(marker="Started EdgeApplication: every gateway")
        yield running
    finally:
        if app:
            app.stop()
        for r in running.values():
            for e in r.echoes.values():
                e.stop()


@pytest.mark.parametrize("casefile", FILES, ids=[Path(f.path).stem for f in FILES])
def test_corpus(casefile, built, apps):
    edge = corpus.edge_of(casefile)
    project = built[_project_id(casefile)]
    if project.files is None:
        for case in casefile.cases:
            assert corpus.skip_reason("spring", edge, case), f"{case.name}: built nothing yet no reason to skip"
        pytest.skip(corpus.skip_reason("spring", edge, casefile.cases[0]))
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    running = apps[casefile.path]
    failures, skipped = {}, {}
    for case in casefile.cases:
        reason = corpus.skip_reason("spring", edge, case)
        if reason:
            skipped[case.name] = reason
            continue
        problems = check(case, running.echoes, listener_ports=running.ports)
        if problems:
            failures[case.name] = problems
    assert not failures, "\n".join(f"{name}: {'; '.join(p)}" for name, p in failures.items())
    assert len(skipped) < len(casefile.cases) or not casefile.cases, f"every case skipped: {skipped}"
