"""Every call of the plan checked against botocore's service model before any bash is written.

botocore's ParamValidator checks required members, types, unknown keys and minimums; it
skips maximums, enums and patterns, so a second walk over the model checks those. The
quotas the model does not know (rules per ALB, values per rule, windows) are checked
while the plan is built (conditions.py, actions.py, waf.py, plan.py).
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterator

import botocore.session
from botocore.validate import ParamValidator

from .calls import Call, dummies

@functools.lru_cache(maxsize=None)
def model(service: str):
    return botocore.session.get_session().get_service_model(service)


@functools.lru_cache(maxsize=None)
def _pattern(text: str):
    """botocore patterns are Java regexes; their Unicode classes become Python's nearest."""
    for java, python in ((r"\p{L}", r"\w"), (r"\p{N}", r"\d"), (r"\p{Z}", r"\s")):
        text = text.replace(java, python)
    try:
        return re.compile(text)
    except re.error:
        return None  # a construct Python lacks: the service checks it


def problems(call: Call) -> list[str]:
    """What AWS would reject in this call, as 'Path: message' lines (empty: none)."""
    shape = model(call.service).operation_model(call.operation).input_shape
    params = dummies(call.params)
    report = ParamValidator().validate(params, shape)
    out = []
    if report.has_errors():
        out += [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    out += list(_limits(params, shape, call.operation))
    return out


def _limits(value: Any, shape, path: str) -> Iterator[str]:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _limits(value[name], member, f"{path}.{name}")
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} items, at most {meta['max']}"
        for i, item in enumerate(value):
            yield from _limits(item, shape.member, f"{path}[{i}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _limits(key, shape.key, f"{path}.{key}(key)")
            yield from _limits(item, shape.value, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path}: {len(value)} characters, at most {meta['max']}"
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of {', '.join(shape.enum)}"
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and not pattern.search(value):
            yield f"{path}: {value!r} does not match {meta['pattern']}"
    elif kind in ("integer", "long") and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            yield f"{path}: {value}, at most {meta['max']}"
    elif kind == "blob" and isinstance(value, str):
        if "max" in meta and len(value.encode()) > meta["max"]:
            yield f"{path}: {len(value.encode())} bytes, at most {meta['max']}"
