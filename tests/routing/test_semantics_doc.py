"""docs/semantics.md names the tests and corpus files that pin each rule: they exist."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "semantics.md").read_text()
TESTS = "".join(p.read_text() for p in (ROOT / "tests" / "routing").glob("test_*.py"))


def test_every_named_test_exists():
    names = set(re.findall(r"`(test_[a-z0-9_]+)(?:\*)?`", DOC)) | set(re.findall(r"::(test_[a-z0-9_]+)", DOC))
    assert names
    missing = [n for n in names if not re.search(rf"def {n}", TESTS)]
    assert not missing, missing


def test_every_named_corpus_file_exists():
    files = set()
    for line in DOC.splitlines():
        for part in re.findall(r"C: ([^;|.]*)", line):
            files |= set(re.findall(r"`([a-z_]+)`", part))
    assert len(files) > 10
    missing = [f for f in files if not (ROOT / "tests" / "conformance" / "corpus" / f"{f}.yaml").exists()]
    assert not missing, missing
