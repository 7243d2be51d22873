"""The one place the stages are wired: read → parse → lower → lint → (schema) → target.

compile_file() and analyse() compile, schema_problems() checks the IR against its schema,
emit() hands it to targets. The command line and the tests go through here, so a file means
the same thing wherever it is compiled; the runtime is handed a loader built on it by
`edgec run` and never imports it.
"""
from __future__ import annotations

import os
from dataclasses import field

from . import ir
from .diagnostics import CompileError, Diagnostic, Sink, Span, diagnostic
from .keptcode import dataclass
from .syntax import Document


@dataclass
class Result:
    file: str
    source: str | None  # None: the file could not be read
    diagnostics: list[Diagnostic] = field(default_factory=list)
    doc: Document | None = None
    edge: ir.Edge | None = None  # the IR of the chosen env, when there were no errors
    # every env lowered (None: the file has none) → its IR, None where lowering found errors
    edges: dict[str | None, ir.Edge | None] = field(default_factory=dict)
    # with analyse(each_env=True): every env lowered → the Result of analysing it alone (as
    # `edgec build --env` does), without its syntax tree
    alone: dict[str | None, Result] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def read_source(path: str) -> tuple[str | None, Diagnostic | None]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), None
    except UnicodeDecodeError as err:
        return None, diagnostic("E000", f"file is not UTF-8 text ({err.reason} at byte {err.start})", path,
                                Span(1, 1, 1, 2))
    except OSError as err:
        return None, diagnostic("E000", f"cannot read file: {err.strerror}", path, Span(1, 1, 1, 2))


def compile_file(path: str, env: str | None = None, *, all_envs: bool = False, targets: tuple[str, ...] = (),
                 strict: bool = False, kept: bool = False) -> Result:
    """Read and analyse one file; a file that cannot be read is a Result with that diagnostic.
    kept: the analysis an earlier command made of the same inputs is taken, and this one's is
    kept for the next (edgec.analysiscache); the Result then has no syntax tree (doc is None):
    it is for the commands that read the IR and the diagnostics."""
    source, problem = read_source(path)
    if problem:
        return Result(path, None, [problem])
    if not kept:
        return analyse(source, path, env=env, all_envs=all_envs, targets=targets, strict=strict)
    from . import analysiscache
    # a target's check reads more than the source (edgec.analysiscache): nothing is kept then
    name = None if targets else analysiscache.key("analysis", path, source, env, all_envs, strict)
    result = analysiscache.load_objects(name)
    if isinstance(result, Result):
        result.source = source
        return result
    if name is not None and not all_envs:
        result = _kept_alone(path, source, env)
        if result is not None:
            return result
    result = analyse(source, path, env=env, all_envs=all_envs, targets=targets, strict=strict)
    result.doc = None
    analysiscache.keep_objects(name, _without_source(result))
    return result


def keep_each_env(path: str, source: str, env: str | None, result: Result) -> bool:
    """Keep what analyse(each_env=True) found for each env alone, for a later compile_file of
    one of them (the pre-commit order: `edgec lint`, then `edgec build --env`). One entry for
    every env (env None): their IRs share what no env changes, which is pickled and loaded
    once; a lint of one env keeps its own beside it, not over it. Whether there was anything
    to keep (not when the file does not parse)."""
    if not result.alone:
        return False
    from . import analysiscache
    analysiscache.keep_objects(_each_env_key(path, source, env),
                               {name: _without_source(one) for name, one in result.alone.items()})
    return True


def _each_env_key(path: str, source: str, env: str | None) -> str | None:
    """The entry of what a lint of `env` (None: of every env) kept of each env alone."""
    from . import analysiscache
    return analysiscache.key("each env", path, source, env)


def _without_source(result: Result) -> Result:
    """The Result as kept: without the text, which whoever loads it has just read to name the
    entry (a third of the entry of 10,000 routes)."""
    from dataclasses import replace
    return replace(result, source=None)


def kept_each_env(path: str, source: str, env: str | None) -> bool:
    """Whether what keep_each_env kept for this file and env is still there, marked used now:
    a lint that finds its own diagnostics kept keeps each env's analysis as long as they are."""
    from . import analysiscache
    return analysiscache.touch_objects(_each_env_key(path, source, env))


def _kept_alone(path: str, source: str, env: str | None) -> Result | None:
    """What keep_each_env kept for `env`, by a lint of that env or else of every env: for no
    env, that of the file's only env (or of a file without envs), as analyse chooses it."""
    from . import analysiscache
    for linted in dict.fromkeys((env, None)):
        kept = analysiscache.load_objects(_each_env_key(path, source, linted))
        if not isinstance(kept, dict):
            continue
        chosen = next(iter(kept)) if env is None and len(kept) == 1 else env
        result = kept.get(chosen)
        if isinstance(result, Result):
            result.source = source
            return result
    return None


def parse_source(source: str, file: str, previous: Document | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """The syntax tree and the syntax errors; given the tree of an earlier version of the
    text, the statements a change left alone are kept instead of parsed again (edgec.reparse)."""
    from .parse import parse
    if previous is not None:
        from .reparse import reparse
        doc = reparse(previous, source)
        if doc is not None:
            return doc, []
    sink = Sink(file)
    try:
        return parse(source, file, sink), sink.items
    except CompileError as err:
        return None, err.diagnostics


def analyse(source: str, file: str, env: str | None = None, all_envs: bool = False,
            targets: tuple[str, ...] = (), strict: bool = False, previous: Document | None = None,
            each_env: bool = False) -> Result:
    """Parse, lower (one env, or every env with all_envs) and lint; never raises on bad input.
    `previous`: the syntax tree of an earlier version of the text (an editor's), to parse
    only what changed. each_env: also fill Result.alone (without targets: a target's check
    is not part of what a build of one env is given)."""
    from .gcpause import paused
    with paused():
        return _analyse(source, file, env, all_envs, targets, strict, previous, each_env and not targets)


def _analyse(source: str, file: str, env: str | None, all_envs: bool, targets: tuple[str, ...],
             strict: bool, previous: Document | None, each_env: bool) -> Result:
    from . import lint
    from .lower import environments, lower_with_usage
    from .targets import names as target_names
    from .values import LoweredOnce

    result = Result(file, source)
    doc, diags = parse_source(source, file, previous)
    result.diagnostics.extend(diags)
    if doc is None:
        return result
    result.doc = doc
    sink = Sink(file)
    envs = environments(doc)
    if all_envs:
        chosen: list[str | None] = list(envs) or [None]
    else:
        if env is None and len(envs) == 1:  # the only environment needs no --env
            env = next(iter(envs))
        chosen = [env]
        if (env is None and envs) or (env is not None and env not in envs):
            from .lower import lower
            try:
                lower(doc, env, sink)  # says which environments there are to choose from
            except CompileError:
                pass
            result.diagnostics.extend(sink.items)
            return result
    ctx = lint.LintContext(doc, envs, target_names=tuple(target_names()))
    shared = LoweredOnce(doc) if len(chosen) > 1 else None  # what every env lowers alike, lowered once
    # with each_env over several envs, each env's diagnostics apart: what its analysis alone reports
    alone = {name: Sink(file) for name in chosen} if each_env and all_envs else {}
    for name in chosen:
        edge, env_state = lower_with_usage(doc, name, alone.get(name, sink), shared)
        ctx.edges[name] = edge
        ctx.used_variables[name] = env_state.used
    for own in alone.values():
        sink.items.extend(own.items)
    result.edges = ctx.edges
    lint.run(ctx, sink, alone)
    for name in targets:
        check_target(name, ctx, sink, strict)
    result.diagnostics.extend(lint.apply_suppressions(doc, lint.dedupe(sink.items)))
    if not all_envs:
        if result.ok:
            result.edge = ctx.edges[env]
        if each_env:
            result.alone[env] = Result(file, source, list(result.diagnostics), edge=result.edge, edges=result.edges)
    for name, own in alone.items():
        one = result.alone[name] = Result(file, source, list(diags), edges={name: ctx.edges[name]})
        one.diagnostics.extend(lint.apply_suppressions(doc, lint.dedupe(own.items)))
        if one.ok:
            one.edge = ctx.edges[name]
    return result


def check_target(name: str, ctx, sink: Sink, strict: bool) -> None:
    from .targets import BuildContext, get
    target = get(name)
    for env_name, edge in ctx.edges.items():
        if edge is not None:
            target.check(BuildContext(edge, sink, target=name, strict=strict))


def schema_problems(edge: ir.Edge) -> list[str]:
    """Where the IR breaks its own JSON Schema: never, unless the compiler has a bug."""
    from .schema import ir_conforms, validate_ir
    if ir_conforms(edge):  # the IR objects checked where they are: no JSON copy unless it fails
        return []
    return validate_ir(ir.to_json(edge))


@dataclass
class Output:
    """What targets wrote: relative path → content, and which files are scripts or credentials."""

    files: dict[str, str] = field(default_factory=dict)
    executable: set[str] = field(default_factory=set)
    private: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # what to install or know to run the files
    built: list[str] = field(default_factory=list)  # the targets that emitted their files
    # the targets that reported an error (nothing of theirs is emitted) → their first error
    refused: dict[str, Diagnostic] = field(default_factory=dict)


def emit(edge: ir.Edge, targets: list, sink: Sink, options: dict[str, str] | None = None,
         resolve_secret=None, strict: bool = False) -> Output:
    """Check and emit each target (one sub-directory each when there are several). A target
    that reports an error emits nothing, and is listed as refused; the others are emitted whole.
    Every target's diagnostics go to `sink`."""
    from .targets import BuildContext
    out = Output()
    options = options or {}
    for target in targets:
        own = Sink(sink.file)  # one target's error must not stop the next one's build
        ctx = BuildContext(edge, own, {k: v for k, v in options.items() if k in target.options}, resolve_secret,
                           target=target.name, strict=strict)
        target.check(ctx)
        files = {} if own.has_errors else target.emit(ctx)
        sink.items.extend(own.items)
        if own.has_errors:
            out.refused[target.name] = next(d for d in own.items if d.severity == "error")
            continue
        out.built.append(target.name)
        prefix = f"{target.name}/" if len(targets) > 1 else ""
        out.files.update((prefix + rel, content) for rel, content in files.items())
        out.executable |= {prefix + rel for rel in target.executables(files)}
        out.private |= {prefix + rel for rel in target.private_files(files)}
        out.notes += target.notes(files)
    return out


def secret_resolver(secrets_dir: str | None):
    """`${secret:NAME}` → the environment variable NAME, else the file <secrets_dir>/NAME."""
    def resolve(secret: ir.Secret) -> str:
        if secret.secret in os.environ:
            return os.environ[secret.secret]
        if secrets_dir:
            path = os.path.join(secrets_dir, secret.secret)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    return f.read().strip()
        raise KeyError(secret.secret)
    return resolve
