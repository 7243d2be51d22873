"""The JSON Schema (draft 2020-12) of the IR, derived from the dataclasses in edgec.ir.

Deriving it keeps one definition of the IR; tests/language/test_golden_ir.py pins the
printed schema to the committed docs/ir.schema.json, so that a change to the IR is a
visible change to the contract (regenerate: edgec schema > docs/ir.schema.json).
"""
from __future__ import annotations

import dataclasses
import operator
import types
import typing
from functools import lru_cache

from . import ir

_PRIMITIVES = {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"},
               float: {"type": "number"}, type(None): {"type": "null"}}


def _type_schema(tp, defs: dict, classes: dict | None = None) -> dict:
    """The schema of type `tp`; the dataclasses met are added to `defs` (and to `classes`,
    name → class, when given)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp in _PRIMITIVES:
        return dict(_PRIMITIVES[tp])
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [_type_schema(a, defs, classes) for a in args]
        return {"anyOf": options}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type_schema(args[0], defs, classes)}
        return {"type": "array", "prefixItems": [_type_schema(a, defs, classes) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if classes is not None:
            classes[name] = tp
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            hints = typing.get_type_hints(tp)
            props, required = {}, []
            for f in dataclasses.fields(tp):
                if not f.metadata.get("json", True):
                    continue
                props[f.name] = _type_schema(hints[f.name], defs, classes)
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
    if conforms(data):
        return []
    import jsonschema  # heavy import: only the build/ir paths need it
    validator = jsonschema.Draft202012Validator(ir_schema())
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]


def ir_conforms(edge: ir.Edge) -> bool:
    """Whether ir.to_json(edge) would meet the schema, asked of the IR objects themselves: the
    JSON copy costs as much as checking it. Like conforms(), it only has to be right when it
    says yes (it is stricter: an integer field holding 2.0 is a no); on no, schema_problems
    checks the JSON form and says why."""
    check, passed = _quick_ir_check()
    try:
        return check(edge)
    finally:
        passed.clear()  # an id names an object only while it lives


@lru_cache(maxsize=1)
def _quick_ir_check():
    """The check of an Edge, and the ids of the nodes it found to conform so far."""
    classes: dict[str, type] = {}
    _type_schema(ir.Edge, {}, classes)
    schema = ir_schema()
    defs: dict = {}
    passed: set[int] = set()
    for name in _referred_first(schema["$defs"]):
        defs[name] = _object_check(classes[name], schema["$defs"][name], defs, passed)
    return _check_ir({"$ref": schema["$ref"]}, defs), passed


def _referred_first(definitions: dict) -> list[str]:
    """The names of `definitions`, each after those it refers to (but in a cycle): the check of
    one then calls theirs directly rather than looking them up at every value (_shared_checks)."""
    order: list[str] = []
    started: set[str] = set()

    def visit(name: str) -> None:
        if name in started:
            return
        started.add(name)
        for ref in _refs(definitions[name]):
            visit(ref)
        order.append(name)
    for name in definitions:
        visit(name)
    return order


def _refs(schema) -> list[str]:
    """The names of the definitions a schema refers to, anywhere in it."""
    if isinstance(schema, list):
        return [name for sub in schema for name in _refs(sub)]
    if not isinstance(schema, dict):
        return []
    own = [schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else []
    return own + [name for key, sub in schema.items() if key != "$ref" for name in _refs(sub)]


# JSON types whose values to_json passes on as they are → the Python types that make them
_EXACT = {"string": (str,), "boolean": (bool,), "null": (type(None),), "integer": (int,), "number": (int, float)}


def _exact_types(schema: dict) -> frozenset | None:
    """The Python types a value of this schema may have when the type is all it says, else None."""
    if schema.keys() == {"type"} and schema["type"] in _EXACT:
        return frozenset(_EXACT[schema["type"]])
    if schema.keys() == {"anyOf"}:
        parts = [_exact_types(s) for s in schema["anyOf"]]
        if all(p is not None for p in parts):
            return frozenset().union(*parts)
    return None


def _object_check(cls: type, schema: dict, defs: dict, passed: set[int]):
    """The check of an instance of the IR class `cls` against the schema made from it. A node
    many others hold (a default; a value lowering made once, edgec.values.Values.node: one
    Timeouts for 10,000 routes) is checked once: `passed` holds the ids of those that conform."""
    names = ir._json_fields(cls)
    if (schema.get("type") != "object" or tuple(schema["properties"]) != names
            or tuple(schema["required"]) != names or schema.get("additionalProperties") is not False
            or set(schema) - {"type", "properties", "required", "additionalProperties", "description"}):
        raise ValueError(f"no fast check for the schema of {cls.__name__}")
    simple, other = [], []
    for name, sub in schema["properties"].items():
        types = _exact_types(sub)
        if types is None:
            other.append((name, _check_ir(sub, defs)))
        else:
            simple.append((name, types))
    simple_types = tuple(t for _, t in simple)
    get_simple = operator.attrgetter(*(n for n, _ in simple)) if len(simple) > 1 else None
    only = simple[0][0] if len(simple) == 1 else None
    other_checks = tuple(other)

    def check(v) -> bool:
        if type(v) is not cls:
            return False
        if id(v) in passed:  # of this class, which it was checked against
            return True
        if get_simple is not None:
            for x, types in zip(get_simple(v), simple_types):
                if type(x) not in types:
                    return False
        elif only is not None and type(getattr(v, only)) not in simple_types[0]:
            return False
        for name, c in other_checks:
            if not c(getattr(v, name)):
                return False
        passed.add(id(v))
        return True
    return check


def _check_ir(schema: dict, defs: dict):
    """_check for a value of the IR instead of its JSON form: tuples (or lists) for arrays,
    IR objects for objects."""
    types = _exact_types(schema)
    if types is not None:
        return lambda v: type(v) in types
    checks = _shared_checks(schema, defs, _check_ir)
    if "type" in schema and schema["type"] != "array":  # arrays: arr() below looks at the type
        if schema["type"] not in _EXACT:
            raise ValueError(f"no fast check for type {schema['type']!r} outside a definition")
        checks.append(_TYPES[schema["type"]])
    if schema.get("type") == "array" or "items" in schema or "prefixItems" in schema or "minItems" in schema \
            or "maxItems" in schema:
        checks.append(_array_check(schema, defs, _check_ir, (tuple, list), False))
    unknown = set(schema) - {"$ref", "type", "const", "enum", "anyOf", "items", "prefixItems", "minItems",
                             "maxItems", "description"}
    if unknown:
        raise ValueError(f"no fast check for {sorted(unknown)}")
    return _all(checks)


def _all(checks: list):
    """One check that every one of `checks` passes."""
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the usual pair (a type and its shape): no generator per value
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(c(v) for c in checks)


def _array_check(schema: dict, defs: dict, compile_sub, arrays: tuple[type, ...], others: bool):
    """The check of an array's length and items, in either form: `arrays` are the types an array
    has (a JSON list; an IR tuple or list), `others` what a value of another type gets (the JSON
    check tests the type apart). compile_sub makes the check of an item; items whose schema is
    a type alone are compared by type in the IR form (stricter than JSON's integer 2.0)."""
    item_types = _exact_types(schema["items"]) if "items" in schema and compile_sub is _check_ir else None
    items = compile_sub(schema["items"], defs) if "items" in schema and item_types is None else None
    prefix = [compile_sub(s, defs) for s in schema.get("prefixItems", ())]
    least, most = schema.get("minItems", 0), schema.get("maxItems")

    def arr(v) -> bool:
        if type(v) not in arrays:
            return others
        if len(v) < least or (most is not None and len(v) > most):
            return False
        for c, x in zip(prefix, v):
            if not c(x):
                return False
        rest = v[len(prefix):] if prefix else v
        if item_types is not None:
            for x in rest:
                if type(x) not in item_types:
                    return False
        elif items is not None:
            for x in rest:
                if not items(x):
                    return False
        return True
    return arr


def conforms(data) -> bool:
    """Whether the IR's JSON form meets the schema (what jsonschema says, ~12x sooner)."""
    return _quick_check()(data)


@lru_cache(maxsize=1)
def _quick_check():
    return _conforms_to(ir_schema())


def _conforms_to(schema: dict):
    """A function that says whether a JSON value meets `schema`, for the keywords _type_schema
    writes, made once from the schema: jsonschema walks the schema anew for every value
    (~0.7 ms per route at build time). It only has to be right when it says yes: on no,
    jsonschema says why."""
    defs: dict = {}
    for name in _referred_first(schema["$defs"]):
        defs[name] = _check(schema["$defs"][name], defs)
    return _check(schema, defs)


_TYPES = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
    "number": lambda v: type(v) in (int, float),
}


def _same(a, b) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b and (isinstance(a, (int, float)) == isinstance(b, (int, float)))


def _shared_checks(schema: dict, defs: dict, compile_sub) -> list:
    """The checks a value's JSON form and its IR form share: a reference, a constant, a choice
    (compile_sub makes the check of each choice)."""
    checks = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        made = defs.get(name)  # made already, unless definitions refer to each other in a cycle
        checks.append(made or (lambda v: defs[name](v)))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: _same(v, const))
    if "enum" in schema:
        options = schema["enum"]
        checks.append(lambda v: any(_same(v, o) for o in options))
    if "anyOf" in schema:
        choices = [compile_sub(s, defs) for s in schema["anyOf"]]
        if len(choices) == 2:  # the usual optional value (null, or one kind): no generator per value
            first, second = choices
            checks.append(lambda v: first(v) or second(v))
        else:
            checks.append(lambda v: any(c(v) for c in choices))
    return checks


def _check(schema: dict, defs: dict):
    checks = _shared_checks(schema, defs, _check)
    if "type" in schema:
        checks.append(_TYPES[schema["type"]])
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        props = {k: _check(s, defs) for k, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        closed = schema.get("additionalProperties", True) is False

        checked = tuple(props.items())

        def obj(v):
            if type(v) is not dict:
                return True
            if closed and not v.keys() <= props.keys():
                return False
            for k in required:
                if k not in v:
                    return False
            for k, c in checked:
                if k in v and not c(v[k]):
                    return False
            return True
        checks.append(obj)
    if "items" in schema or "prefixItems" in schema or "minItems" in schema or "maxItems" in schema:
        checks.append(_array_check(schema, defs, _check, (list,), True))
    known = {"$ref", "type", "const", "enum", "anyOf", "properties", "required", "additionalProperties", "items",
             "prefixItems", "minItems", "maxItems", "description", "$schema", "$id", "title", "$defs"}
    unknown = set(schema) - known
    if unknown:
        raise ValueError(f"no fast check for {sorted(unknown)}")
    return _all(checks)
