"""One fuzzing session: generated edge files served by real gateways, every answer compared
with decide.

For each generated edge file every target is started on loopback with one echo backend per
upstream, and every generated request is sent to it as a case whose expectation is decide's
decision (`expectation`): the route's backend (any of them for a split), the path and Host
the backend receives, the request headers the client sent or the route changes, the
status, Location, and a fixed response's body. The conformance driver
(edgec.harness.driver.check) compares; a case the capability table says the target is not
held to is skipped and counted under that row.

A divergence is shrunk (`shrink`): routes, matches, conditions and header operations are
removed while the target still disagrees, then the request's headers and query; what is
left is written as a corpus case (an .edge file and its case file).
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edgec import ir, routing
from edgec.cases import Case
from edgec.harness import gateways
from edgec.harness.driver import check
from edgec.harness.echo import EchoServer
from edgec.harness.live import skip_reason, with_listener_ports, with_servers
from edgec.harness.processes import free_port

from .spec import Spec

TARGETS = ("runtime", "nginx", "envoy", "spring")
# headers a gateway adds or owns on the way to the backend: never compared
GATEWAY_HEADERS = frozenset(("host", "connection", "keep-alive", "te", "transfer-encoding", "upgrade",
                             "content-length", "x-request-id", "x-forwarded-for", "x-forwarded-proto",
                             "x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded", "via"))


@dataclass
class Divergence:
    target: str
    spec: Spec
    request: routing.Request
    problems: list[str]


@dataclass
class Tally:
    configs: int = 0
    rejected: int = 0  # generated files lint refused (a generator defect when it grows)
    compared: Counter = field(default_factory=Counter)  # target → requests compared
    skipped: Counter = field(default_factory=Counter)  # (target, capability note) → requests not compared
    unbuildable: Counter = field(default_factory=Counter)  # (target, reason) → files the target refuses
    divergences: list[Divergence] = field(default_factory=list)


def compile_source(source: str) -> ir.Edge | None:
    from edgec.pipeline import analyse
    result = analyse(source, "fuzz.edge")
    if result.edge is None:
        return None
    # the access log of the runtime would fill the terminal; logging changes no answer
    obs = dataclasses.replace(result.edge.observability, access_log=ir.AccessLog("off", "-"))
    return dataclasses.replace(result.edge, observability=obs)


def expectation(edge: ir.Edge, req: routing.Request) -> dict:
    """What decide says the client and the backend see, in the case format."""
    d = routing.decide(edge, req)
    exp: dict = {"route": d.route}
    if d.action == "forward":
        shares = d.shares()
        if len(shares) == 1 and "" not in shares:
            exp["upstream"] = d.upstream
        else:
            exp["upstreams"] = sorted(n for n in shares if n)
        exp["path"] = d.upstream_path
        exp["host"] = d.upstream_host
        sent = {n.lower() for n, _ in req.headers}
        touched = {n.lower() for n in (*d.request_header_ops.remove, *(n for n, _ in d.request_header_ops.set),
                                       *(n for n, _ in d.request_header_ops.add))}
        want: dict[str, str] = {}
        for name, value in d.request_headers:
            key = name.lower()
            if key in GATEWAY_HEADERS:
                continue
            want[key] = want[key] + "," + value if key in want else value
        exp["headers"] = want
        exp["absent_headers"] = sorted((sent | touched) - set(want) - GATEWAY_HEADERS)
    else:
        exp["status"] = d.status
    if d.action == "redirect":
        exp["location"] = d.location
    if d.action == "respond" and req.method != "HEAD":
        exp["body"] = d.body or ""
    return exp


def as_case(req: routing.Request, exp: dict, name: str = "fuzz") -> Case:
    return Case(name, req.method, req.target, req.host, req.headers, None, exp)


class Served:
    """One edge served by one target on loopback, with its echo backends."""

    def __init__(self, target: str, edge: ir.Edge, workdir: Path):
        self.target = target
        self.echoes = {u.name: EchoServer(u.name).start() for u in edge.upstreams}
        self.ports = {lst.port: free_port() for lst in edge.listeners}
        self.edge = edge
        live = with_listener_ports(with_servers(edge, {n: e.address for n, e in self.echoes.items()}), self.ports)
        self.gateway = None
        try:
            self.gateway = _start(target, live, workdir, list(self.ports.values()))
        except BaseException:
            self.stop()
            raise

    def check(self, req: routing.Request) -> list[str]:
        return check(as_case(req, expectation(self.edge, req)), self.echoes, listener_ports=self.ports, edge=self.edge)

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        for e in self.echoes.values():
            e.stop()


def _start(target: str, live: ir.Edge, workdir: Path, ports: list[int]):
    if target == "runtime":
        return gateways.LiveRuntime(live).start()
    workdir.mkdir(parents=True, exist_ok=True)
    options = {"admin_port": str(free_port())} if target == "envoy" else {}
    files, diagnostics = gateways.build(target, live, options)
    if files is None:
        raise RuntimeError("; ".join(d.message for d in diagnostics if d.severity == "error"))
    for rel, text in files.items():
        path = workdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if target == "nginx":
        return gateways.Nginx(workdir, ports).start()
    if target == "spring":
        from edgec.harness.spring import SpringApp, package
        app = SpringApp(package(workdir), [], ports[0], workdir / "app.log").start()
        try:
            app.wait_ready()
        except BaseException:
            app.stop()
            raise
        return app
    return gateways.Envoy(workdir / "envoy.yaml", ports, int(options["admin_port"])).start()


def skip(target: str, edge: ir.Edge, case: Case) -> str | None:
    """The capability-table reason the target is not held to this case (the runtime
    implements every feature: never)."""
    return None if target == "runtime" else skip_reason(target, edge, case)


def refusal(target: str, edge: ir.Edge) -> str | None:
    """Why the target cannot build this edge at all (an unsupported feature), or None."""
    probe = as_case(routing.Request("GET", "http", "edge.test", None, "/"), {})
    reason = skip(target, edge, probe)
    return reason if reason and "cannot build" in reason else None


def compare(target: str, spec: Spec, requests: list[routing.Request], tally: Tally, workdir: Path) -> None:
    """Serve spec with target and compare every request; divergences go to the tally unshrunk."""
    source = spec.render()
    edge = compile_source(source)
    if edge is None:
        tally.rejected += 1
        return
    why = refusal(target, edge)
    if why:
        tally.unbuildable[(target, why)] += 1
        return
    todo = []
    for req in requests:
        reason = skip(target, edge, as_case(req, expectation(edge, req)))
        if reason:
            tally.skipped[(target, reason)] += 1
        else:
            todo.append(req)
    if not todo:
        return
    try:
        served = Served(target, edge, workdir)
    except Exception as err:  # noqa: BLE001 (a target that cannot build or start the file is a finding too)
        tally.divergences.append(Divergence(target, spec, todo[0], [f"gateway did not start: {err!r}"[:2000]]))
        return
    try:
        for req in todo:
            problems = served.check(req)
            tally.compared[target] += 1
            if problems:
                tally.divergences.append(Divergence(target, spec, req, problems))
    finally:
        served.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def diverges(target: str, spec: Spec, req: routing.Request, workdir: Path) -> list[str]:
    """The problems of one request against one target (empty: it agrees, or it is skipped)."""
    edge = compile_source(spec.render())
    if edge is None or refusal(target, edge) or skip(target, edge, as_case(req, expectation(edge, req))):
        return []
    try:
        served = Served(target, edge, workdir)
    except Exception as err:  # noqa: BLE001 (as in compare)
        return [f"gateway did not start: {err!r}"[:2000]]
    try:
        return served.check(req)
    finally:
        served.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# gateways started while shrinking one divergence: a Spring app is a Maven build and a JVM
SHRINK_BUDGET = {"runtime": 60, "nginx": 60, "envoy": 30, "spring": 3}


def shrink(target: str, spec: Spec, req: routing.Request, workdir: Path, budget: int = 60) -> tuple[Spec, routing.Request, list[str]]:
    """A smaller spec and request on which the target still disagrees with decide."""
    problems = diverges(target, spec, req, workdir)
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        edge = compile_source(spec.render())
        keep = routing.decide(edge, req).route if edge is not None else None
        for smaller in [*spec.smaller(keep), *_smaller_requests(req)]:
            tries += 1
            if tries > budget:
                break
            s, r = (smaller, req) if isinstance(smaller, Spec) else (spec, smaller)
            found = diverges(target, s, r, workdir)
            if found:
                spec, req, problems = s, r, found
                progress = True
                break
    return spec, req, problems


def _smaller_requests(req: routing.Request):
    for i in range(len(req.headers)):
        yield dataclasses.replace(req, headers=req.headers[:i] + req.headers[i + 1:])
    if req.query:
        yield dataclasses.replace(req, query="")


def write_case(out: Path, spec: Spec, req: routing.Request, target: str, problems: list[str]) -> Path:
    """The shrunk divergence as a corpus case: NAME.edge and NAME.yaml in `out`."""
    from ruamel.yaml import YAML
    out.mkdir(parents=True, exist_ok=True)
    source = spec.render()
    digest = hashlib.sha256(repr((source, req.method, req.target, req.host, req.headers)).encode()).hexdigest()
    name = f"fuzz_{target}_{digest[:8]}"
    edge = compile_source(source)
    assert edge is not None
    request: dict = {"method": req.method, "url": req.target, "host": req.host}
    if req.headers:
        request["headers"] = [list(h) for h in req.headers]
    exp = {k: v for k, v in expectation(edge, req).items() if v != [] and v != {}}
    (out / f"{name}.edge").write_text(f"# found by edgec fuzz: {target} disagreed with decide\n"
                                      + source.replace('edge "fuzz"', f'edge "{name}"'), encoding="utf-8")
    doc = {"edge": f"{name}.edge", "cases": [{"name": f"{target}: " + "; ".join(problems)[:200], "request": request,
                                             "expect": exp}]}
    yaml = YAML()
    yaml.default_flow_style = None
    with open(out / f"{name}.yaml", "w", encoding="utf-8") as f:
        yaml.dump(doc, f)
    return out / f"{name}.yaml"


def missing(targets: tuple[str, ...]) -> str | None:
    """What this machine lacks to fuzz these targets, or None."""
    import importlib.util
    import shutil
    if importlib.util.find_spec("hypothesis") is None:
        return "the fuzzer generates with Hypothesis: pip install 'edgec[fuzz]'"
    for target, program in (("nginx", "nginx"), ("envoy", "envoy"), ("spring", "mvn"), ("spring", "java")):
        if target in targets and shutil.which(program) is None:
            return f"target {target} needs the {program} program on PATH"
    return None


def run(targets: tuple[str, ...], seed: int, configs: int | None, seconds: float | None, requests_per_config: int,
        out: Path | None, progress=None) -> tuple[Tally, list[Path]]:
    """Generate edge files until `configs` are done or `seconds` have passed; every target
    serves each and answers every request. Divergences are shrunk and, when `out` is given,
    written there as corpus cases (the first of each target and kind of problem): the
    tally, and the case files written."""
    import logging

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st

    from .strategies import requests, specs

    logging.getLogger("edgec.runtime").setLevel(logging.ERROR)  # one "serving" line per generated file
    tally = Tally()
    deadline = time.monotonic() + seconds if seconds else None
    work = Path(tempfile.mkdtemp(prefix="edgec-fuzz-"))

    @seeded(seed)
    @settings(max_examples=configs or 10**6, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data):
        # everything is drawn before the session may end: an example that draws less than
        # one Hypothesis saw with the same start is refused as flaky generation
        spec = data.draw(specs())
        reqs = [data.draw(requests(spec)) for _ in range(requests_per_config)]
        if (deadline is not None and time.monotonic() > deadline) or (configs is not None and tally.configs >= configs):
            raise _Done
        tally.configs += 1
        for target in targets:
            compare(target, spec, reqs, tally, work / f"{tally.configs}-{target}")
        if progress:
            progress(tally)

    written: list[Path] = []
    try:
        try:
            one()
        except _Done:
            pass
        if out is not None:
            seen = set()
            for d in tally.divergences:
                kind = (d.target, tuple(_kind(p) for p in d.problems))
                if kind in seen:
                    continue
                seen.add(kind)
                small, req, problems = shrink(d.target, d.spec, d.request, work / "shrink", SHRINK_BUDGET[d.target])
                if problems:
                    written.append(write_case(out, small, req, d.target, problems))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tally, written


class _Done(Exception):
    """The session's time or number of files is used up."""


def report(tally: Tally, targets: tuple[str, ...], written: list[Path]) -> dict:
    """The session in numbers: per target, requests compared, divergences, and requests not
    compared per capability-table reason."""
    per = {}
    for t in targets:
        per[t] = {"compared": tally.compared[t],
                  "divergences": sum(1 for d in tally.divergences if d.target == t),
                  "skipped": {reason: n for (target, reason), n in sorted(tally.skipped.items()) if target == t},
                  "files_not_built": {reason: n for (target, reason), n in sorted(tally.unbuildable.items())
                                      if target == t}}
    kinds = Counter((d.target, _kind(p)) for d in tally.divergences for p in d.problems)
    return {"files": tally.configs, "files_refused_by_lint": tally.rejected, "targets": per,
            "divergence_kinds": [{"target": t, "problem": k, "count": n} for (t, k), n in sorted(kinds.items())],
            "examples": [{"target": d.target, "request": f"{d.request.method} {d.request.target} (Host "
                          f"{d.request.host})", "headers": [list(h) for h in d.request.headers],
                          "problems": d.problems} for d in tally.divergences[:20]],
            "written": [str(p) for p in written]}


def render(report: dict) -> str:
    lines = [f"{report['files']} edge files generated ({report['files_refused_by_lint']} refused by lint)"]
    for t, r in report["targets"].items():
        lines.append(f"{t}: {r['compared']} requests compared, {r['divergences']} divergences")
        for reason, n in r["skipped"].items():
            lines.append(f"  skipped {n}: {reason}")
        for reason, n in r["files_not_built"].items():
            lines.append(f"  files not built {n}: {reason}")
    for k in report["divergence_kinds"]:
        lines.append(f"divergence {k['target']}: {k['problem']} ×{k['count']}")
    for e in report["examples"]:
        lines.append(f"  {e['target']}: {e['request']} {e['headers'] or ''}".rstrip())
        lines += [f"    {p}" for p in e["problems"]]
    lines += [f"wrote {p}" for p in report["written"]]
    return "\n".join(lines) + "\n"


def _kind(problem: str) -> str:
    """A problem without its values: 'backend path: expected …' → 'backend path'."""
    return re.split(r":", problem, maxsplit=1)[0]

