"""The model of API Gateway's route selection against the example in AWS's documentation
("Working with routes for HTTP APIs", routing API requests)."""
from __future__ import annotations

import pytest

from .apigateway import select

DOC_ROUTES = ["GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default"]


@pytest.mark.parametrize("method, path, route", [
    ("GET", "/pets/dog/1", "GET /pets/dog/1"),  # a full match
    ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),  # a path variable
    ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),  # the longest greedy path
    ("POST", "/pets/cat/1", "ANY /{proxy+}"),  # only ANY takes POST
    ("GET", "/", "$default"),  # {proxy+} needs at least one segment
])
def test_the_documented_example(method, path, route):
    assert select(DOC_ROUTES, method, path) == route


def test_a_method_before_any_and_404_without_default():
    assert select(["ANY /a", "GET /a"], "GET", "/a") == "GET /a"
    assert select(["ANY /a", "GET /a"], "PUT", "/a") == "ANY /a"
    assert select(["GET /a/{proxy+}"], "GET", "/a") is None
    assert select(["GET /a/{proxy+}"], "GET", "/ab/c") is None
