"""Syntax tree + chosen environment → IR.

Lowering picks the environment, resolves variables, normalises units and applies every
default. It reports what makes a value meaningless (a wrong type, a bad address, a port
out of range) and leaves cross-references (does this upstream exist?) to the lint rules,
which see the whole file.
"""
from __future__ import annotations

from . import ir
from .diagnostics import CompileError, Sink, did_you_mean
from .directives import lower_body
from .ir import DEFAULT_ACCESS_LOG, DEFAULT_LIMITS, DEFAULT_LISTENER
from .syntax import Document, Stmt
from .values import Env, LoweredOnce, Values


def environments(doc: Document) -> list[str]:
    return [s.args["name"].value for s in doc.edge.body if s.kind == "env"]


def variables(doc: Document, env_name: str | None, sink: Sink) -> Env:
    """The variables and target settings of `vars { }`, then those of the chosen env over them."""
    env = Env(env_name)
    blocks = [s for s in doc.edge.body if s.kind == "vars"] + \
        [s for s in doc.edge.body if s.kind == "env" and s.args["name"].value == env_name]
    for block in blocks:
        seen: dict[str, Stmt] = {}
        for item in block.body:
            if item.kind == "assign":
                env.values[item.args["name"].value] = item.args["value"]
                continue
            target = item.args["name"].value
            if target in seen:
                sink.error("E215", f"target {target} is already given on line {seen[target].span.line} of this block",
                           item.args["name"].span, hint="write its settings in one block")
                continue
            seen[target] = item
            env.target_blocks[target] = item
            keys = env.targets.setdefault(target, {})
            lines: dict[str, Stmt] = {}
            for setting in item.body:
                key = setting.args["name"]
                if key.value in lines:
                    sink.error("E215", f"'{key.value}' is already set on line {lines[key.value].span.line}",
                               key.span, hint="keep one of the two lines")
                    continue
                lines[key.value] = keys[key.value] = setting
    return env


class Lowerer:
    """Assembles the edge: its statements lower through their declarations (edgec.directives),
    reading values through `Values`."""

    def __init__(self, doc: Document, env: Env, sink: Sink, shared: LoweredOnce | None = None):
        self.doc = doc
        self.values = Values(doc, env, sink, shared)

    def edge(self) -> ir.Edge:
        v = self.values
        fields: dict = {}
        lower_body(v, self.doc.edge, "edge", "", fields)
        return ir.Edge(
            version=ir.IR_VERSION,
            name=v.string(self.doc.edge.args["name"], "the edge name", default="edge"),
            env=v.env.name,
            listeners=tuple(fields.get("listeners", ())) or (ir.Listener(*DEFAULT_LISTENER),),
            upstreams=tuple(fields.get("upstreams", ())),
            auth=tuple(fields.get("auth", ())),
            routes=tuple(fields.get("routes", ())),
            observability=ir.Observability(fields.get("access_log", DEFAULT_ACCESS_LOG), fields.get("metrics_path"),
                                           fields.get("tracing")),
            limits=fields.get("limits", DEFAULT_LIMITS),
            trusted_proxies=tuple(fields.get("trusted_proxies", ())),
            access=fields.get("access", ir.Access()),
            target_settings=tuple(self.target_settings(t) for t in sorted(v.env.targets)),
            span=self.doc.edge.span,
        )

    def target_settings(self, target: str) -> ir.TargetSettings:
        """A target's settings as written (strings, or lists of strings): the target itself
        knows its keys and checks them (lint checks the target's name)."""
        v = self.values
        out = []
        for key, stmt in sorted(v.env.targets[target].items()):
            what = f"target {target} setting '{key}'"
            value = v.resolve(stmt.args["value"])
            if value is None:
                continue
            if value.kind == "list":
                out.append(ir.TargetSetting(key, tuple(text for text, _ in v.strings(value, what)), stmt.span))
            else:
                text = v.string(value, what)
                if text is not None:
                    out.append(ir.TargetSetting(key, text, stmt.span))
        return ir.TargetSettings(target, tuple(out), v.env.target_blocks[target].span)


def lower(doc: Document, env_name: str | None, sink: Sink) -> ir.Edge:
    """Lower one environment. Raises CompileError if the sink holds errors afterwards."""
    envs = environments(doc)
    if env_name is None and envs:
        sink.error("E103", "this file defines environments; choose one with --env",
                   doc.edge.args["name"].span, hint="environments: " + ", ".join(envs))
        raise CompileError(sink.items)
    if env_name is not None and env_name not in envs:
        guess = did_you_mean(env_name, envs)
        sink.error("E102", f"environment '{env_name}' is not defined in this file",
                   doc.edge.args["name"].span,
                   hint=(f"did you mean '{guess}'?" if guess else
                         ("environments: " + ", ".join(envs)) if envs else "add an `env NAME { }` block"))
        raise CompileError(sink.items)
    env = variables(doc, env_name, sink)
    edge = Lowerer(doc, env, sink).edge()
    sink.raise_if_errors()
    return edge


def lower_with_usage(doc: Document, env_name: str | None, sink: Sink,
                     shared: LoweredOnce | None = None) -> tuple[ir.Edge | None, Env]:
    """Like lower(), but also returns which variables were used (for the unused-variable rule)
    and never raises: the IR is None when lowering found errors. `shared`: one LoweredOnce(doc)
    handed to the lowering of each env of the document, so that what no env changes is
    lowered once."""
    env = variables(doc, env_name, sink)
    before = len([d for d in sink.items if d.severity == "error"])
    edge = Lowerer(doc, env, sink, shared).edge()
    after = len([d for d in sink.items if d.severity == "error"])
    return (edge if after == before else None), env
