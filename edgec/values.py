"""Values as lowering reads them: variables resolved, types checked, strings, numbers,
secrets, paths, host names, methods and regexes made sure of, each with its diagnostic.

This is the half of lowering every directive shares; the directives (edgec.directives) give
each statement its meaning with it.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import field
from typing import Any, Callable

from . import ir, regexes
from .directives.actions import KEEPS_QUERY
from .diagnostics import Diagnostic, Sink, Span, did_you_mean
from .ir import HOST_LABEL
from .keptcode import dataclass
from .syntax import MAX_DIGITS, Document, Stmt, Value, VarRef

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# bounds on variables (docs/language.md): a chain of references, and what a string becomes once
# they are put in (a variable used twice by one used twice... would double at every level)
MAX_VARIABLE_DEPTH = 32
MAX_STRING_CHARS = 65_536
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass
class Env:
    """The variables visible while lowering one environment."""

    name: str | None
    values: dict[str, Value] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    # target name → key → its `target NAME { }` line (vars', then the env's over them)
    targets: dict[str, dict[str, Stmt]] = field(default_factory=dict)
    target_blocks: dict[str, Stmt] = field(default_factory=dict)  # the block each target's settings end in


_UNSEEN = object()  # a statement no env has lowered yet (LoweredOnce.done)


class LoweredOnce:
    """What the lowerings of the envs of one document share (Values.once_for_every_env): the
    statements written without a variable, each lowered once, with what it reported."""

    def __init__(self, doc: Document):
        self.source = doc.source
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", doc.source))]
        # id of a statement -> what lowering it made and reported, or None: it holds a variable
        self.done: dict[int, tuple[Any, list[Diagnostic]] | None] = {}
        self.nodes: dict[tuple, Any] = {}  # see Values.node
        self.texts: dict[str, str] = {}  # see Values.one_text

    def same_in_every_env(self, stmt: Stmt) -> bool:
        """Whether the statement's text holds no `${`, which begins every variable (${env}
        among them) written in a value or inside a string: found in the text at C speed, where
        walking its values to find none would cost about what lowering it again saves."""
        span, starts = stmt.span, self.line_starts
        return self.source.find("${", starts[span.line - 1] + span.column - 1,
                                starts[span.end_line - 1] + span.end_column - 1) < 0


class Values:
    """Reads the values of one environment, reporting into `sink`."""

    def __init__(self, doc: Document, env: Env, sink: Sink, shared: LoweredOnce | None = None):
        self.doc = doc
        self.env = env
        self.sink = sink
        self.shared = shared  # see once_for_every_env
        self._expanding: list[str] = []  # the variables being put in, outermost first
        self._texts: dict[tuple[str, str, str], str | None] = {}  # (variable, what, controls) -> its text
        self._nodes: dict[tuple, Any] = shared.nodes if shared is not None else {}
        self._one_texts: dict[str, str] = shared.texts if shared is not None else {}

    def node(self, cls: type, *args: Any) -> Any:
        """cls(*args), one object for every node of this class made from args equal and of the same
        types (an IR node without a span is a frozen value): the 10,000 routes of a file that each
        write `timeout 5s` hold one Timeouts, which the analysis cache (edgec.analysiscache) then
        pickles and loads once rather than 10,000 times."""
        key = (cls, args, tuple(map(type, args)))
        made = self._nodes.get(key)
        if made is None:
            made = self._nodes[key] = cls(*args)
        return made

    def one_text(self, text: str) -> str:
        """One str for every equal text of a kind few texts repeat in many routes (the parser makes
        one per token): the header name 10,000 routes each write, a path's type, a method, a host
        put in from a variable, which the analysis cache then pickles and loads once."""
        return self._one_texts.setdefault(text, text)

    def once_for_every_env(self, stmt: Stmt, lower: Callable[[], Any]) -> Any:
        """lower(), for a statement whose lowering reads the env only through its variables:
        when it has none it is lowered in the first env that shares `shared` (LoweredOnce) and
        the others get that result, with the diagnostics it reported reported again."""
        if self.shared is None:
            return lower()
        # the first env looks at the statement's text; the others find what it decided
        done = self.shared.done.get(id(stmt), _UNSEEN)
        if done is _UNSEEN:
            if not self.shared.same_in_every_env(stmt):
                self.shared.done[id(stmt)] = None
                return lower()
            before = len(self.sink.items)
            done = self.shared.done[id(stmt)] = (lower(), self.sink.items[before:])
        elif done is None:  # written with a variable: lowered in each env
            return lower()
        else:
            self.sink.items.extend(done[1])
        return done[0]

    # ---- variables ---------------------------------------------------------------------------
    def _var(self, ref: VarRef, where: Span) -> Value | None:
        if ref.name == "env":
            return Value("string", (self.env.name or "",), self.env.name or "", where)
        if ref.is_secret:
            return None
        if ref.name not in self.env.values:
            elsewhere = [s.args["name"].value for s in self.doc.edge.body if s.kind == "env"
                         and any(a.kind == "assign" and a.args["name"].value == ref.name for a in s.body)]
            if elsewhere:
                self.sink.error("E107", f"variable '{ref.name}' is not defined in env '{self.env.name}' "
                                f"(only in {', '.join(elsewhere)})", ref.span,
                                hint=f"add `{ref.name} = ...` to env {self.env.name}, or a default in `vars {{ }}`")
                return None
            known = list(self.env.values) + ["env"]
            guess = did_you_mean(ref.name, known)
            where_env = f" in env '{self.env.name}'" if self.env.name else ""
            self.sink.error("E101", f"variable '{ref.name}' is not defined{where_env}", ref.span,
                            hint=f"did you mean '{guess}'?" if guess else
                            "define it in the env block (or in `vars { }` for every env)")
            return None
        self.env.used.add(ref.name)
        return self.env.values[ref.name]

    def resolve(self, value: Value | None, seen: list[str] | None = None) -> Value | None:
        """Replace a bare ${var} by its value (repeatedly, for variables naming variables); the names
        passed through are added to `seen`."""
        seen = [] if seen is None else seen
        while value is not None and value.kind == "var":
            ref = value.value
            if ref.is_secret:
                return value
            if not self._may_enter(ref, seen):
                return None
            seen.append(ref.name)
            resolved = self._var(ref, value.span)
            if resolved is None:
                return None
            value = Value(resolved.kind, resolved.value, resolved.raw, value.span) if resolved.kind != "var" else resolved
        return value

    def _may_enter(self, ref: VarRef, seen: list[str] = ()) -> bool:
        """Whether ${ref} may be put in here: not inside its own value, and not deeper than
        MAX_VARIABLE_DEPTH; else an error at the reference."""
        chain = self._expanding + list(seen)
        if ref.name in chain:
            cycle = " -> ".join(chain[chain.index(ref.name):] + [ref.name])
            self.sink.error("E101", f"variable '{ref.name}' refers to itself ({cycle})", ref.span,
                            hint="give one of these variables a value that does not use the others")
            return False
        if len(chain) >= MAX_VARIABLE_DEPTH:
            self.sink.error("E212", f"variable '{ref.name}' is put in {len(chain) + 1} variables deep", ref.span,
                            hint=f"variables may refer to variables at most {MAX_VARIABLE_DEPTH} deep")
            return False
        return True

    def string(self, value: Value | None, what: str, allow_secret: bool = False, default: Any = None,
               controls: str = "") -> Any:
        """The text of a string field; `controls` are the control characters it may hold (a respond
        body its line breaks and tabs), every other one is refused: no target's file, header or
        API call can carry them."""
        if value is not None and value.kind == "string" and len(value.value) == 1 and type(value.value[0]) is str:
            # most strings: text alone, no variable to resolve or put in (~50,000 at 10,000 routes)
            return self._checked(value.value[0], value, what, default, controls)
        value = self.resolve(value)
        if value is None:
            return default
        if value.kind == "var" and value.value.is_secret:
            if allow_secret:
                return self.secret(value.value)
            self._secret_here(value.span, what)
            return default
        if value.kind == "int":
            return str(value.value)
        if value.kind == "word":
            return value.value
        if value.kind != "string":
            self._type_error(value, what, "a string")
            return default
        parts = []
        for part in value.value:
            if isinstance(part, str):
                parts.append(part)
                continue
            if part.is_secret:
                if allow_secret and len(value.value) == 1:
                    return self.secret(part)
                self._secret_here(part.span, what)
                return default
            text = self._put_in(part, what, controls)
            if text is None:
                return default
            parts.append(text)
        return self._checked("".join(parts), value, what, default, controls)

    def _checked(self, text: str, value: Value, what: str, default: Any, controls: str) -> Any:
        """A string field's text, or default when it holds a control character or is too long (reported)."""
        control = _CONTROL.search(text) and next((c for c in _CONTROL.findall(text) if c not in controls), None)
        if control:
            self.sink.error("E022", f"control character U+{ord(control):04X} in the {what}", value.span,
                            hint="control characters are refused in every string but a respond body (which may "
                                 "hold \\n \\r \\t) and a header value (\\t)")
            return default
        if len(text) > MAX_STRING_CHARS:
            self.sink.error("E212", f"{what} is {len(text):,} characters long", value.span,
                            hint=f"a string holds at most {MAX_STRING_CHARS:,} characters, once its variables "
                                 "are put in")
            return default
        return text

    def _put_in(self, ref: VarRef, what: str, controls: str) -> str | None:
        """The text of ${ref} inside a string, or None (reported). A variable's text is worked out
        once per use: one that others use many times costs its length, not a power of it."""
        names = [ref.name]
        resolved = self._var(ref, ref.span) if self._may_enter(ref) else None
        resolved = self.resolve(resolved, names)
        if resolved is None:
            return None
        if resolved.kind == "list":
            self._type_error(resolved, what, "a single value to put inside a string", at=ref.span)
            return None
        key = (ref.name, what, controls)
        if key not in self._texts:
            self._expanding.extend(names)
            try:
                self._texts[key] = self.string(resolved, what, controls=controls)
            finally:
                del self._expanding[-len(names):]
        return self._texts[key]

    def integer(self, value: Value | None, what: str, default: Any = None, low: int | None = None,
                high: int | None = None) -> Any:
        value = self.resolve(value)
        if value is None:
            return default
        if value.kind == "string" and value.text.isascii() and value.text.isdigit():
            digits = value.text.lstrip("0")
            if len(digits) > MAX_DIGITS:
                self.sink.error("E212", f"{what} is too large: {len(digits)} digits", value.span,
                                hint=f"numbers have at most {MAX_DIGITS} digits")
                return default
            number = int(digits or "0")
        elif value.kind != "int":
            self._type_error(value, what, "a whole number")
            return default
        else:
            number = value.value
        if (low is not None and number < low) or (high is not None and number > high):
            code = "E201" if "port" in what else "E212"
            rng = f"{low}..{high}" if high is not None else f"at least {low}"
            self.sink.error(code, f"{what} {number} is out of range ({rng})", value.span)
            return default
        return number

    def strings(self, value: Value | None, what: str) -> list[tuple[str, Span]]:
        value = self.resolve(value)
        if value is None:
            return []
        items = value.value if value.kind == "list" else (value,)
        out = []
        for item in items:
            resolved = self.resolve(item)
            if resolved is not None and resolved.kind == "list":  # a ${list} inside a list
                self._expanding.append(item.value.name)
                try:
                    out.extend(self.strings(resolved, what))
                finally:
                    self._expanding.pop()
                continue
            text = self.string(item, what)
            if text is not None:
                out.append((text, item.span))
        return out

    def _type_error(self, value: Value, what: str, expected: str, at: Span | None = None) -> None:
        kinds = {"list": "a list", "string": "a string", "int": "a number", "duration": "a duration",
                 "rate": "a rate", "percent": "a percentage", "size": "a size", "word": "a name"}
        self.sink.error("E108", f"{what} must be {expected}, not {kinds.get(value.kind, value.kind)}",
                        at or value.span)

    def secret(self, ref: VarRef) -> ir.Secret | None:
        name = ref.name.split(":", 1)[1].strip()
        if not SECRET_NAME.match(name):
            self.sink.error("E112", f"'{name}' is not a secret name", ref.span,
                            hint="secret names are environment variable names: letters, digits and _, "
                                 "e.g. ${secret:JWT_KEY}")
            return None
        return ir.Secret(name)

    def credential(self, value: Value | None, what: str, example: str) -> ir.Secret | None:
        """A value that must be a secret reference: a literal credential is refused, unechoed."""
        secret = self.string(value, what, allow_secret=True)
        if secret is None or isinstance(secret, ir.Secret):
            return secret
        self.sink.error("E110", f"{what} must be a secret reference, never the credential itself", value.span,
                        hint=f"write {example} and set it in the environment (or the secrets directory); "
                             "a credential in the file ends up in version control",
                        mask=True)
        return None

    def _secret_here(self, span: Span, what: str) -> None:
        self.sink.error("E109", f"a secret cannot be used in {what}", span,
                        hint="secrets are accepted only where a credential is expected "
                             "(jwt secret, api_key keys, basic htpasswd), so they never land in a config file")

    # ---- shapes every block uses ----------------------------------------------------------
    def strings_of(self, values, what) -> list[tuple[str, Span]]:
        out = []
        for v in values:
            out.extend(self.strings(v, what))
        return out

    def cidr(self, item: tuple[str, Span]) -> str:
        text, span = item
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            self.sink.error("E202", f"'{text}' is not an IP address or CIDR range", span,
                            hint="write it like \"10.0.0.0/8\" or \"192.0.2.7\"")
            return text
        if "/" in text and network.network_address != ipaddress.ip_address(text.partition("/")[0]):
            address = text.partition("/")[0]
            self.sink.warning("W319", f"'{text}' is not a network address: it means {network}", span,
                              hint=f'write "{network}" for the network, or "{address}" for the one address')
        return str(network)

    def items(self, stmt: Stmt) -> dict[str, Stmt]:
        """A block of keyword items (cors, limits, auth), by keyword; each keyword once."""
        out: dict[str, Stmt] = {}
        for item in stmt.body or ():
            if item.kind in out:
                self.sink.error("E215", f"'{item.kind}' is given twice", item.span, hint="keep one of them")
            out[item.kind] = item
        return out

    def one_string(self, items: dict[str, Stmt], key: str, what: str, default=None, allow_secret=False):
        if key not in items:
            return default
        return self.string(items[key].args["values"][0], what, allow_secret=allow_secret, default=default)

    def path(self, value: Value | None, what: str, with_query: bool = False, sent: bool = False) -> str:
        """A path value; with_query: a request target, which may hold a query (`/orders?mine=1`);
        sent: a path the gateway sends on (a rewrite's, a redirect's), after which the client's
        own query goes."""
        text = self.string(value, what, default="/")
        if not text.startswith("/"):
            self.sink.error("E210", f"{what} '{text}' must start with '/'", value.span if value else None,
                            hint=f'write "/{text}"')
        elif not with_query and ("?" in text or "#" in text):
            mark = "?" if "?" in text else "#"
            if sent:
                self.sink.error("E210", f"{what} '{text}' holds '{mark}': the client's query goes after the path "
                                "as it was sent, and no other", value.span if value else None, hint=KEEPS_QUERY)
            else:
                self.sink.error("E210", f"{what} '{text}' holds '{mark}', which ends a path",
                                value.span if value else None,
                                hint='a request\'s path never holds a raw "?" or "#": test the query with '
                                     '`query "name" = "value"`, or write an encoded %3F / %23')
        return text

    def check_regex(self, pattern: str | None, span: Span) -> None:
        if pattern is None:
            return
        problem = regexes.problem(pattern)
        if problem is not None:
            self.sink.error("E205", problem[0], span, hint=problem[1])

    def methods(self, values) -> list[str]:
        out = []
        for v in values:
            if v.value not in ir.HTTP_METHODS:
                guess = did_you_mean(v.value.upper(), ir.HTTP_METHODS)
                self.sink.error("E211", f"unknown HTTP method '{v.value}'", v.span,
                                hint=f"did you mean '{guess}'?" if guess else None)
            out.append(v.value)
        return out

    def hostname(self, value: Value, what: str) -> str:
        """A host name a request is sent to (redirect, Host rewrite): no wildcard, no port."""
        text = self.string(value, what, default="")
        if not HOST_LABEL.match(text) or text.startswith("*."):
            self.sink.error("E218", f"{what} '{text}' is not a host name", value.span,
                            hint='write a name like "api.example.com" (no scheme, port or path)')
        return text
