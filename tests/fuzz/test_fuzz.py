"""`edgec fuzz`: a fixed-seed session over the runtime and the real nginx finds no undeclared
divergence, and a divergence planted in the nginx target is found, shrunk and written as a
corpus case that decide passes."""
from __future__ import annotations

import shutil

import pytest

from edgec import routing
from edgec.fuzz import session
from edgec.fuzz.spec import Match, Route, Spec
from edgec.targets.nginx.actions import Actions
from edgec.targets.nginx.conf import D

from ..routing.test_cli import run

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")

# about 90 s on the 2-core CI machine; `edgec fuzz --time 30m` is the long run (docs/semantics.md)
CONFIGS, SEED = 40, 19


def test_a_fixed_seed_session_finds_no_undeclared_divergence():
    tally, written = session.run(("runtime", "nginx"), SEED, CONFIGS, None, 20, None)
    report = session.report(tally, ("runtime", "nginx"), written)
    assert tally.divergences == [], session.render(report)
    assert tally.configs == CONFIGS and tally.rejected == 0
    assert tally.compared["runtime"] == CONFIGS * 20
    # the capability table excuses many nginx requests (match.header.present above all), not most
    assert tally.compared["nginx"] >= CONFIGS * 20 * 2 // 5
    assert all(reason.startswith("nginx: ") for _, reason in tally.skipped)


def _old_respond(self, r):  # nginx's own HTML error page for a fixed response without a body
    return [D("default_type", r.content_type), D("return", r.status, r.body)]


def test_a_planted_divergence_is_found_shrunk_and_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Actions, "respond", _old_respond)
    spec = Spec((
        Route("r1", (Match("prefix", "/a"),), ("forward", (("u1", 1),))),
        Route("r2", (Match("prefix", "/b", methods=("GET",)),), ("respond", 403, None)),
        Route("r3", (Match("exact", "/b/x", hosts=("a.example",)),), ("forward", (("u2", 1),))),
    ))
    req = routing.Request.from_url("GET", "/b/c?q=1", [("X-Tier", "gold")], host="b.example")
    small, small_req, problems = session.shrink("nginx", spec, req, tmp_path / "work")
    assert [r.name for r in small.routes] == ["r2"] and not small_req.headers and not small_req.query
    assert any(p.startswith("body: expected ''") for p in problems), problems
    case_file = session.write_case(tmp_path / "found", small, small_req, "nginx", problems)
    # the case says what decide says: `edgec test` passes it, and so does the runtime
    code, out, _ = run(capsys, "test", case_file.with_suffix(".edge"), case_file)
    assert code == 0, out
    assert session.diverges("runtime", small, small_req, tmp_path / "rt") == []


def test_usage_errors(capsys):
    code, _, err = run(capsys, "fuzz", "--targets", "runtime,bogus")
    assert code == 2 and "unknown target bogus" in err
    code, _, err = run(capsys, "fuzz", "--time", "ten")
    assert code == 2 and "not a duration" in err
