"""Building generated Spring projects with Maven, and running them with `java -jar`.

Test modules register the projects they need at import time (`register`); the first test
that asks for a build (`built` fixture) compiles all of them in as few Maven reactors as
the project coordinates allow (two generated projects of one sample share
groupId:artifactId, and a reactor cannot hold both), so Maven starts a handful of times,
not once per project. `mvn -o` is used while the local repository has everything, and
Maven goes online once when it does not (a fresh CI machine).
"""
from __future__ import annotations

import contextlib
import random
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from edgec import ir
from edgec.diagnostics import Sink
from edgec.harness.echo import EchoServer
from edgec.targets import BuildContext, get
from edgec.harness.spring import JAVA_TEST_FLAGS, M2, SpringApp, mvn  # noqa: F401 (the spring tests use them)



@dataclass
class Project:
    id: str
    files: dict[str, str] | None  # None: the edge did not compile for spring
    diagnostics: list = field(default_factory=list)
    dir: Path | None = None
    jar: Path | None = None
    build_log: str = ""


REGISTRY: dict[str, tuple[ir.Edge, dict[str, str]]] = {}
COMBINED: dict[str, list[str]] = {}

LAUNCHER = """package edgec.launcher;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.builder.SpringApplicationBuilder;

/** Starts several generated gateways in one JVM: CLASS ARGS... [--next CLASS ARGS...]... */
public final class Launcher {

    private Launcher() {
    }

    public static void main(String[] args) throws ClassNotFoundException {
        List<String> group = new ArrayList<>();
        for (String arg : args) {
            if (arg.equals("--next")) {
                start(group);
                group.clear();
            }
            else {
                group.add(arg);
            }
        }
        start(group);
        System.out.println("Started EdgeApplication: every gateway");
    }

    private static void start(List<String> group) throws ClassNotFoundException {
        new SpringApplicationBuilder(Class.forName(group.get(0))).run(group.subList(1, group.size()).toArray(new String[0]));
    }
}
"""


def register(project_id: str, edge: ir.Edge, **options: str) -> str:
    REGISTRY[project_id] = (edge, options)
    return project_id


def register_combined(project_id: str, members: list[str]) -> str:
    """One test-only project that holds the sources of several generated ones (each in its
    own package) and starts them all in one JVM: a JVM start costs more than a gateway."""
    COMBINED[project_id] = members
    return project_id


def _combined_files(members: list[Project]) -> dict[str, str]:
    files = {"src/main/java/edgec/launcher/Launcher.java": LAUNCHER}
    deps: dict[tuple[str, str], None] = {}
    for m in members:
        files.update({rel: text for rel, text in m.files.items() if rel.startswith("src/main/java/")})
        for group, artifact in re.findall(r"<dependency>\s*<groupId>([^<]+)</groupId>\s*<artifactId>([^<]+)</artifactId>"
                                          r"\s*</dependency>", m.files["pom.xml"]):
            deps[(group, artifact)] = None
    pom = members[0].files["pom.xml"]
    dependency_xml = "".join(f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId></dependency>"
                             for g, a in deps)
    pom = re.sub(r"</dependencyManagement>.*<build>", "</dependencyManagement><dependencies>" + dependency_xml
                 + "</dependencies><build>", pom, count=1, flags=re.S)
    pom = re.sub(r"<groupId>[^<]+</groupId>\s*<artifactId>[^<]+</artifactId>\s*<version>0.0.1</version>",
                 "<groupId>edgec.tests</groupId><artifactId>combined</artifactId><version>0.0.1</version>", pom, count=1)
    pom = pom.replace("<java.version>17</java.version>",
                      "<java.version>17</java.version><start-class>edgec.launcher.Launcher</start-class>")
    files["pom.xml"] = pom
    return files


def emit(edge: ir.Edge, **options: str) -> tuple[dict[str, str] | None, list]:
    target = get("spring")
    sink = Sink("test.edge")
    ctx = BuildContext(edge, sink, dict(options), target="spring")
    target.check(ctx)
    if sink.has_errors:
        return None, sink.items
    return target.emit(ctx), sink.items


def _coordinates(pom: str) -> tuple[str, str]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ElementTree.fromstring(pom)
    return root.findtext("m:groupId", namespaces=ns), root.findtext("m:artifactId", namespaces=ns)


def _aggregator(modules: list[str]) -> str:
    lines = "\n".join(f"    <module>{m}</module>" for m in modules)
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>edgec.tests</groupId>
  <artifactId>reactor</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <modules>
{lines}
  </modules>
</project>
"""


def build_all(root: Path) -> dict[str, Project]:
    """Emit every registered project under `root` and package them; lint warnings fail a build."""
    projects: dict[str, Project] = {}
    reactors: list[dict[tuple[str, str], str]] = []
    for pid, (edge, options) in sorted(REGISTRY.items()):
        files, diagnostics = emit(edge, **options)
        projects[pid] = Project(pid, files, diagnostics)
    for pid, members in COMBINED.items():
        built_members = [projects[m] for m in members if projects[m].files is not None]
        projects[pid] = Project(pid, _combined_files(built_members) if built_members else None)
    for pid, project in projects.items():
        files = project.files
        if files is None:
            continue
        project.dir = root / pid
        for rel, text in files.items():
            path = project.dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        coords = _coordinates(files["pom.xml"])
        for reactor in reactors:
            if coords not in reactor:
                reactor[coords] = pid
                break
        else:
            reactors.append({coords: pid})
    for i, reactor in enumerate(reactors):
        rdir = root / f"reactor-{i}"
        rdir.mkdir()
        modules = sorted(reactor.values())
        (rdir / "pom.xml").write_text(_aggregator([f"../{m}" for m in modules]))
        proc = mvn(["package", "-DskipTests", "-Dmaven.compiler.failOnWarning=true", "--fail-at-end", "-T", "2"],
                   rdir)
        log = proc.stdout + proc.stderr
        for m in modules:
            project = projects[m]
            jars = sorted((project.dir / "target").glob("*.jar")) if (project.dir / "target").is_dir() else []
            project.jar = jars[0] if jars else None
            project.build_log = "\n".join(line for line in log.splitlines() if f"/{m}/" in line) or log[-4000:]
    return projects


# ---- running ---------------------------------------------------------------------------------

def _below_ephemeral() -> range:
    """Ports the kernel never picks for a socket's local end (those under its ephemeral range)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(20000, max(low, 20001))


_CANDIDATES = _below_ephemeral()
_next = random.randrange(len(_CANDIDATES))


def free_ports(n: int) -> list[int]:
    """n distinct free ports, from below the kernel's ephemeral range: a port chosen as a module
    is loaded (a project built with it) is bound many minutes later, and one the kernel handed out
    (a bind to port 0) may by then be the local end of some connection (CI saw a JWKS port taken
    so). Each port is handed out once per process; a busy one is passed over."""
    global _next
    ports = []
    for _ in range(len(_CANDIDATES)):
        if len(ports) == n:
            return ports
        port = _CANDIDATES[_next % len(_CANDIDATES)]
        _next += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    if len(ports) == n:
        return ports
    raise OSError(f"fewer than {n} free ports under {_CANDIDATES.stop}")


def listener_args(edge: ir.Edge, ports: dict[int, int]) -> list[str]:
    """Command-line properties that move the edge's listeners to local ports."""
    from edgec.targets.spring import config
    main = config.main_listener(edge)
    args = ["--server.address=127.0.0.1", f"--server.port={ports[main.port]}"]
    for lst in edge.listeners:
        if lst is not main:
            args.append(f"--{config.listener_property(lst)}={ports[lst.port]}")
            args.append(f"--{config.listener_property(lst, 'address')}=127.0.0.1")
    return args


def server_args(edge: ir.Edge, addresses: dict[str, list[str]]) -> list[str]:
    """Command-line properties that point upstreams at local servers. A list given on the
    command line replaces the one in application.yml whole, so the instance ids and the
    metadata (weight, backup) the generated configuration gives are repeated."""
    from edgec.targets.spring.config import instance_metadata
    from edgec.targets.spring.names import Names
    names = Names(edge)
    upstreams = {up.name: up for up in edge.upstreams}
    args = []
    for up, servers in addresses.items():
        upstream = upstreams[up]
        for i, address in enumerate(servers):
            prefix = f"--spring.cloud.discovery.client.simple.instances.{names.service(up)}[{i}]"
            args += [f"{prefix}.uri=http://{address}", f"{prefix}.instance-id={names.service(up)}-{i + 1}"]
            if i < len(upstream.servers):
                args += [f"{prefix}.metadata.{key}={value}"
                         for key, value in instance_metadata(upstream, upstream.servers[i]).items()]
    return args


@contextlib.contextmanager
def echo_gateway(project: Project, edge: ir.Edge, upstream: str, log_dir: Path, env: dict | None = None):
    """The project's gateway with each listener on a free port, `upstream`'s one server an echo
    backend: ({edge's port: local port}, echo)."""
    from edgec.targets.spring import config
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    ports = dict(zip((lst.port for lst in edge.listeners), free_ports(len(edge.listeners))))
    echo = EchoServer(upstream).start()
    args = listener_args(edge, ports) + server_args(edge, {upstream: [echo.address]})
    try:
        with running(project.jar, args, ports[config.main_listener(edge).port], log_dir / "app.log", env=env):
            yield ports, echo
    finally:
        echo.stop()


@contextlib.contextmanager
def running(jar: Path, args: list[str], port: int, log: Path, env: dict | None = None):
    """The app started and ready on `port`, stopped when the block ends."""
    app = SpringApp(jar, args, port, log, env=env).start()
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop()
