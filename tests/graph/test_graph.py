"""edgec graph: the DOT and Mermaid text of every sample pinned, every sample drawn by the
real Graphviz as SVG and PNG, user text kept inside its quotes, --route focus."""
from __future__ import annotations

import re
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from edgec.cli import main
from edgec.graph import build, render, to_dot, to_mermaid
from edgec.pipeline import compile_file

from ..conftest import sample_envs

SVG = "{http://www.w3.org/2000/svg}"


def _edge(path, env):
    result = compile_file(str(path), env)
    assert result.ok, result.diagnostics
    return result.edge


@pytest.mark.parametrize("path,env", sample_envs())
def test_golden_dot_and_mermaid(path, env, file_regression):
    graph = build(_edge(path, env))
    stem = f"{path.stem}-{env}"
    file_regression.check(to_dot(graph), basename=stem, extension=".dot")
    file_regression.check(to_mermaid(graph), basename=stem, extension=".mmd")


def _svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


@pytest.mark.skipif(shutil.which("dot") is None, reason="tests/run.sh installs graphviz")
@pytest.mark.parametrize("path,env", sample_envs())
def test_pictures_of_every_sample(path, env, tmp_path):
    edge = _edge(path, env)
    out = tmp_path / "g.svg"
    assert main(["graph", str(path), "--env", env, "-o", str(out)]) == 0
    texts = _svg_texts(out.read_bytes())
    assert f"edge {edge.name} (env {env})" in texts
    for route in edge.routes:  # every route is drawn
        assert f"route {route.name}" in texts
    png = tmp_path / "g.png"
    assert main(["graph", str(path), "--env", env, "--format", "png", "-o", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width > 100 and height > 50


HOSTILE = r'''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route evil {
    match path prefix "/a\"];x->y;\\" header "X-N" = "<b>#quot;\"|]]"
    forward a
  }
  route body {
    match path exact "/b"
    respond 200 "}\"; digraph { \\N \\l | x --> y"
  }
}
'''


@pytest.fixture
def hostile(compile_edge):
    result = compile_edge(HOSTILE)
    assert result.ok, result.diagnostics
    return result.edge


@pytest.mark.skipif(shutil.which("dot") is None, reason="tests/run.sh installs graphviz")
def test_dot_keeps_user_text_inside_its_quotes(hostile):
    """Graphviz itself reads the file: the labels come out exactly as written, and no node or
    edge appears that the graph did not make."""
    graph = build(hostile)
    svg = render(to_dot(graph), "svg")
    root = ET.fromstring(svg)
    titles = {t.text for g in root.iter(f"{SVG}g") for t in g.findall(f"{SVG}title")}
    assert titles - {"edgec"} == ({n.id for n in graph.nodes}
                                  | {f"{link.source}->{link.target}" for link in graph.links})
    texts = _svg_texts(svg)
    route = hostile.route("evil")
    assert any(route.matches[0].path.value in t for t in texts)
    assert any(hostile.route("body").action.body[:37] in t for t in texts)


def test_mermaid_labels_hold_no_syntax(hostile):
    text = to_mermaid(build(hostile))
    for line in text.splitlines()[4:]:
        # each label is one quoted string: between the quotes only entities and plain text
        for label in re.findall(r'"([^"]*)"', line.replace("<br/>", " ")):
            assert not set(label) & set('"<>[]{}|\\`'), label
    assert "#34;" in text and "#92;" in text  # the quote and the backslash the user wrote


def test_route_focus_keeps_competitors_only(compile_edge):
    result = compile_edge('''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route api { match path prefix "/api" forward a }
  route users { match path prefix "/api/users" method GET forward a }
  route posts { match path prefix "/api/users" method POST forward a }
  route other { match path exact "/other" forward a }
}''')
    graph = build(result.edge, focus="users")
    routes = {n.lines[0] for n in graph.nodes if n.kind == "route"}
    assert routes == {"route api", "route users"}  # POST never meets a GET, /other never meets /api


def test_never_winning_route_is_marked(compile_edge):
    result = compile_edge('''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route first { match path prefix "/api" method GET POST forward a }
  route second { match path prefix "/api" method GET forward a }
}''')
    graph = build(result.edge)
    assert [(n.lines[0], n.shadowed) for n in graph.nodes if n.shadowed] == [("route second", "never wins")]
    assert 'xlabel="never wins"' in to_dot(graph)


def test_route_a_regex_may_take_is_marked(compile_edge):
    result = compile_edge('''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route static { match path prefix "/static" forward a }
  route files { match path regex "/static(/.*)?" forward a }
}''')
    graph = build(result.edge)
    assert [(n.lines[0], n.shadowed) for n in graph.nodes if n.shadowed] == [("route static", "may never win")]
    assert "#40;may never win#41;" in to_mermaid(graph)


def test_a_match_that_loses_by_a_tie_break_names_the_winner(compile_edge):
    result = compile_edge('''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route mobile { match path prefix "/app" header "X-Client" = "mobile" forward a }
  route beta { match path prefix "/app" header "X-Beta" present forward a }
}''')
    graph = build(result.edge)
    assert [link.label for link in graph.links if link.label.startswith("#")] == [
        "#1 path prefix '/app' header 'X-Client' = 'mobile'",
        "#2 path prefix '/app' header 'X-Beta' present (ties with mobile, which wins by a tie-break)"]
    assert "(ties with mobile, which wins by a tie-break)" in to_dot(graph)


def test_precedence_numbers_follow_decide(compile_edge):
    result = compile_edge('''edge "t" {
  listen http 8080
  upstream a { server "127.0.0.1:9001" }
  route p { match path prefix "/a" forward a }
  route r { match path regex "/a/[0-9]+" forward a }
  route e { match host "x.test" path exact "/a" forward a }
}''')
    labels = [link.label for link in build(result.edge).links if link.label.startswith("#")]
    assert labels == ["#1 path exact '/a'", "#2 path regex '/a/[0-9]+'", "#3 path prefix '/a'"]


def test_unknown_route_is_a_usage_error(capsys):
    assert main(["graph", "samples/canary.edge", "--env", "dev", "--route", "chekout"]) == 2
    assert "did you mean 'checkout'" in capsys.readouterr().err


def test_missing_graphviz_is_said_plainly(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "g.svg"
    assert main(["graph", "samples/canary.edge", "--env", "dev", "-o", str(out)]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert not out.exists()


def test_output_is_deterministic(capsysbinary):
    main(["graph", "samples/shop.edge", "--env", "prod", "-f", "mermaid"])
    first = capsysbinary.readouterr().out
    main(["graph", "samples/shop.edge", "--env", "prod", "-f", "mermaid"])
    assert capsysbinary.readouterr().out == first


@pytest.mark.skipif(shutil.which("dot") is None, reason="tests/run.sh installs graphviz")
def test_readme_picture_is_current():
    """docs/img/shop-prod.svg (shown by the README) says what the graph of today says."""
    from ..conftest import ROOT
    fresh = render(to_dot(build(_edge(ROOT / "samples" / "shop.edge", "prod"))), "svg")
    assert _svg_texts((ROOT / "docs" / "img" / "shop-prod.svg").read_bytes()) == _svg_texts(fresh)
