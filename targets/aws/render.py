"""The plan as bash: one shell-quoting function, calls rendered from their parameters,
and Jinja2 templates whose every expression is quoted unless it is a pre-rendered Shell
fragment (made only here, from quoted parts)."""
from __future__ import annotations

import json
import re
import shlex
from typing import Any

import jinja2
from botocore import xform_name

from .calls import Call, Ref, Words
from .names import jmespath_literal
from .settings import TARGET
from .validate import model


class Shell(str):
    """Text that is already valid bash: emitted as it is."""


def quote(value: Any) -> str:
    """Any value as one bash word that means exactly that value."""
    text = str(value)
    if "\x00" in text:
        raise ValueError("a NUL byte cannot be written into a shell script")
    return shlex.quote(text)


def _word(value: Any) -> str:
    if isinstance(value, Ref):
        return f'"${value.var}"'
    if isinstance(value, Words):
        return f'"${{{value.var}[@]}}"'
    return quote(value)


def _json_pieces(value: Any) -> list:
    """JSON text split into literal strings and the Refs that go between them."""
    if isinstance(value, Ref):
        return ['"', value, '"']
    if isinstance(value, dict):
        out: list = ["{"]
        for i, (k, v) in enumerate(value.items()):
            out += ["," if i else "", json.dumps(k), ":", *_json_pieces(v)]
        return out + ["}"]
    if isinstance(value, (list, tuple)):
        out = ["["]
        for i, v in enumerate(value):
            out += ["," if i else "", *_json_pieces(v)]
        return out + ["]"]
    return [json.dumps(value)]


def json_word(value: Any) -> str:
    """One bash word holding the JSON of value, run-time values spliced in as "$var"."""
    words, literal = [], ""
    for piece in _json_pieces(value):
        if isinstance(piece, Ref):
            words += [quote(literal), _word(piece)]
            literal = ""
        else:
            literal += piece
    if literal:
        words.append(quote(literal))
    return "".join(words)


def command(call: Call, indent: int = 0) -> Shell:
    """`aws_ SERVICE OPERATION --param value ...` with one parameter per line, continuation
    lines indented by `indent` more spaces (to sit inside an if or a loop)."""
    members = model(call.service).operation_model(call.operation).input_shape.members
    lines = [f"aws_ {call.service} {xform_name(call.operation, '-')}"]
    for name, value in call.params.items():
        flag = "--" + xform_name(name, "-")
        shape = members[name]
        if shape.type_name == "boolean":
            lines.append(flag if value else "--no-" + flag[2:])
        elif shape.type_name == "list" and shape.member.type_name == "string":
            words = [_word(value)] if isinstance(value, Words) else [_word(v) for v in value]
            lines.append(f"{flag} {' '.join(words)}")
        elif shape.type_name in ("structure", "list", "map"):
            lines.append(f"{flag} {json_word(value)}")
        else:
            lines.append(f"{flag} {_word(value)}")
    if call.query:
        lines.append(f"--query {quote(call.query)} --output text")
    return Shell((" \\\n" + " " * (indent + 4)).join(lines))


def variable(name: str) -> Shell:
    """A shell variable name the plan made (never from the source)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a shell variable name: {name!r}")
    return Shell(name)


def elements(name: str, joined: bool = False) -> Shell:
    """Every element of the plan-made array `name`, as separate words or joined."""
    return Shell(f'"${{{variable(name)}[{"*" if joined else "@"}]}}"')


def _finalize(value: Any) -> str:
    return value if isinstance(value, Shell) else quote(value)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("edgec.targets.aws", "templates"),
                             finalize=_finalize, autoescape=False, undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             comment_start_string="<%#", comment_end_string="#%>")  # bash has ${#x}
    env.filters["cmd"] = command
    env.filters["var"] = variable
    env.filters["lit"] = jmespath_literal
    env.filters["elements"] = elements
    return env


def render(plan, template: str) -> str:
    return environment().get_template(template).render(plan=plan, target_pattern=TARGET)
