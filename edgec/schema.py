"""The JSON Schema (draft 2020-12) of the IR, derived from the dataclasses in edgec.ir.

Deriving it keeps one definition of the IR; tests/language/test_golden_ir.py pins the
printed schema to the committed docs/ir.schema.json, so that a change to the IR is a
visible change to the contract (regenerate: edgec schema > docs/ir.schema.json).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from functools import lru_cache

from . import ir

_PRIMITIVES = {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"},
               float: {"type": "number"}, type(None): {"type": "null"}}


def _type_schema(tp, defs: dict) -> dict:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp in _PRIMITIVES:
        return dict(_PRIMITIVES[tp])
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a, defs) for a in args]
        return {"anyOf": options}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0], defs)}
        return {"type": "array", "prefixItems": [_type_schema(a, defs) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = typing.get_type_hints(tp)
            props, required = {}, []
            for f in dataclasses.fields(tp):
                if not f.metadata.get("json", True):
                    continue
                props[f.name] = _type_schema(hints[f.name], defs)
                required.append(f.name)
            defs[name] = {"type": "object", "properties": props, "required": required,
                          "additionalProperties": False}
            if tp.__doc__ and not tp.__doc__.startswith(name + "("):
                defs[name]["description"] = " ".join(tp.__doc__.split())
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON Schema for {tp!r}")


@lru_cache(maxsize=1)
def ir_schema() -> dict:
    defs: dict = {}
    root = _type_schema(ir.Edge, defs)
    edge = defs["Edge"]
    edge["properties"]["version"] = {"const": ir.IR_VERSION}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:edgec:ir:v1",
        "title": "edgec IR",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def validate_ir(data: dict) -> list[str]:
    """Every schema violation of an IR's JSON form, as 'path: message' lines."""
    import jsonschema  # heavy import: only the build/ir paths need it
    validator = jsonschema.Draft202012Validator(ir_schema())
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]
