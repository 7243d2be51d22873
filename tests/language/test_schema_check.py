"""The IR's schema check (edgec/schema.py): the quick check made from the schema agrees with
jsonschema on every sample's IR and on IR broken in every way a compiler bug could break it,
and a broken IR is still reported with jsonschema's messages."""
from __future__ import annotations

import copy
import json
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgec import ir
from edgec.ir import to_json
from edgec.pipeline import analyse
from edgec.schema import ir_schema, validate_ir

from ..conftest import sample_envs

OTHER_VALUES = [None, 0, 7, -1, 1.5, 2.0, True, False, "", "x", "GET", [], [1], {}, {"a": 1}]


@pytest.fixture(scope="module")
def edges() -> list[ir.Edge]:
    out = []
    for path, env in (p.values for p in sample_envs()):
        result = analyse(path.read_text(), str(path), env=env)
        if result.edge is not None:
            out.append(result.edge)
    assert len(out) > 5
    return out


@pytest.fixture(scope="module")
def samples(edges) -> list[dict]:
    return [json.loads(json.dumps(to_json(edge))) for edge in edges]


def _jsonschema_valid(data) -> bool:
    return not list(jsonschema.Draft202012Validator(ir_schema()).iter_errors(data))


def _places(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _places(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _places(v, path + (i,))


def _break(data, rnd: random.Random):
    """One change somewhere in a copy of data: another value, a key taken away or added, an
    item added or taken away."""
    data = json.loads(json.dumps(data))
    path = rnd.choice(list(_places(data)))
    parent, last = None, None
    node = data
    for step in path:
        parent, last, node = node, step, node[step]
    change = rnd.randrange(4)
    if change == 0 and parent is not None:
        parent[last] = rnd.choice(OTHER_VALUES)
    elif change == 1 and isinstance(node, dict) and node:
        del node[rnd.choice(sorted(node))]
    elif change == 2 and isinstance(node, dict):
        node[rnd.choice(["extra", *sorted(node)])] = rnd.choice(OTHER_VALUES)
    elif isinstance(node, list):
        if node and rnd.random() < 0.5:
            node.pop(rnd.randrange(len(node)))
        else:
            node.append(rnd.choice(node + OTHER_VALUES) if node else rnd.choice(OTHER_VALUES))
    elif parent is not None:
        parent[last] = rnd.choice(OTHER_VALUES)
    return data


def test_every_sample_passes(samples):
    from edgec.schema import conforms
    for data in samples:
        assert conforms(data) and validate_ir(data) == []


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 3))
def test_the_quick_check_agrees_with_jsonschema_on_broken_ir(samples, rnd, changes):
    from edgec.schema import conforms
    data = samples[rnd.randrange(len(samples))]
    for _ in range(changes):
        data = _break(data, rnd)
    assert conforms(data) == _jsonschema_valid(data)


def test_a_broken_ir_is_reported_with_where_and_what(samples):
    data = json.loads(json.dumps(samples[0]))
    data["routes"][0]["name"] = 5
    data["listeners"][0]["extra"] = True
    problems = validate_ir(data)
    assert any(p.startswith("/routes/0/name:") and "is not of type 'string'" in p for p in problems), problems
    assert any(p.startswith("/listeners/0:") and "extra" in p for p in problems), problems


def _ir_places(node, path=()):
    """Every place in an IR object's JSON part: a path of field names and item indexes."""
    yield path
    names = ir._json_fields(type(node))
    if names is not None:
        for name in names:
            yield from _ir_places(getattr(node, name), path + (name,))
    elif isinstance(node, (tuple, list)):
        for i, item in enumerate(node):
            yield from _ir_places(item, path + (i,))


def _at(node, path):
    for step in path:
        node = node[step] if isinstance(step, int) else getattr(node, step)
    return node


def _put(node, path, value):
    """A copy of node with the value at path replaced (frozen objects copied, not changed)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        items = list(node)
        items[step] = _put(items[step], rest, value)
        return type(node)(items)
    changed = copy.copy(node)
    object.__setattr__(changed, step, _put(getattr(node, step), rest, value))
    return changed


def _break_ir(edge, rnd: random.Random):
    """One change somewhere in an IR object: another value (a JSON one, a tuple, an IR node
    of another place, a float for an int), an item taken away or added, a tuple made a list."""
    places = list(_ir_places(edge))
    path = rnd.choice(places[1:])
    node = _at(edge, path)
    change = rnd.randrange(4)
    if change == 0:
        value = rnd.choice(OTHER_VALUES + [(), ("x",), (1,), 2.0, _at(edge, rnd.choice(places))])
    elif change == 1 and isinstance(node, (tuple, list)) and node:
        items = list(node)
        items.pop(rnd.randrange(len(items)))
        value = type(node)(items)
    elif change == 2 and isinstance(node, (tuple, list)):
        value = type(node)([*node, rnd.choice([*node, *OTHER_VALUES])])
    elif isinstance(node, tuple):
        value = list(node)
    else:
        value = rnd.choice(OTHER_VALUES)
    return _put(edge, path, value)


def test_the_ir_check_passes_every_sample(edges):
    from edgec.schema import ir_conforms
    assert all(ir_conforms(edge) for edge in edges)


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 3))
def test_the_ir_check_says_yes_only_when_the_json_form_conforms(edges, rnd, changes):
    """The check of the IR objects stands for a check of their JSON form (which is only made
    when it says no): it may refuse more, never less."""
    from edgec.schema import conforms, ir_conforms
    edge = edges[rnd.randrange(len(edges))]
    for _ in range(changes):
        edge = _break_ir(edge, rnd)
    if ir_conforms(edge):
        assert conforms(to_json(edge)) and _jsonschema_valid(to_json(edge))


def test_a_broken_ir_object_is_reported_from_its_json_form(edges):
    from edgec.pipeline import schema_problems
    broken = _put(edges[0], ("routes", 0, "name"), 5)
    assert any(p.startswith("/routes/0/name:") and "is not of type 'string'" in p
               for p in schema_problems(broken))
    assert schema_problems(edges[0]) == []


def test_a_node_checked_once_where_many_hold_it_is_still_refused_in_a_place_of_another_class(edges):
    """The check passes a node many routes hold (a default; a value lowering made once) once:
    the same object in a field of another class is still a no, and a later check starts anew."""
    from edgec.schema import ir_conforms
    edge = next(e for e in edges if len(e.routes) > 1 and e.routes[0].retry is e.routes[1].retry)
    assert ir_conforms(edge)
    retry = edge.routes[0].retry
    assert not ir_conforms(_put(edge, ("routes", 1, "timeouts"), retry))
    assert not ir_conforms(_put(edge, ("routes", 1, "retry", "attempts"), 2.0))
    assert ir_conforms(edge)
    # one object that passed, then broken in place: what a check passed is not taken on trust later
    own = copy.copy(retry)
    changed = _put(_put(edge, ("routes", 0, "retry"), own), ("routes", 1, "retry"), own)
    assert ir_conforms(changed)
    object.__setattr__(own, "attempts", 2.0)
    assert not ir_conforms(changed)


def test_definitions_that_refer_to_each_other_in_a_cycle_are_checked():
    """Each definition's check calls those it refers to made before it; in a cycle (the IR has
    none yet) one of them is looked up as a value is checked."""
    from edgec.schema import _conforms_to
    ref = {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/B"}]}
    schema = {"$ref": "#/$defs/A", "$defs": {
        "A": {"type": "object", "properties": {"b": ref}, "required": ["b"], "additionalProperties": False},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "required": ["a"],
              "additionalProperties": False}}}
    check = _conforms_to(schema)
    assert check({"b": {"a": {"b": None}}})
    assert not check({"b": {"a": {"b": 1}}})
    assert not check({"b": {"a": {"c": None}}})
    assert jsonschema.Draft202012Validator(schema).is_valid({"b": {"a": {"b": None}}})
