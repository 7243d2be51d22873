"""edgec targets: the capability matrix, feature by feature and target by target."""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")


def run(args) -> int:
    from ..targets_matrix import matrix, render
    sys.stdout.write(render(matrix(), args.format))
    return 0
