"""docs/lint.md's examples of the import's diagnostics: each nginx file, imported, prints the line shown."""
from __future__ import annotations

import re

import pytest

from edgec.cli import main

from ..conftest import ROOT

CODES = ("E501", "E502", "W503")


def example(code: str) -> tuple[str, str]:
    section = re.split(r"^## ", (ROOT / "docs" / "lint.md").read_text(), flags=re.M)
    [body] = [s for s in section if s.startswith(code + " ")]
    conf = re.search(r"^```nginx\n(.*?)^```$", body, re.M | re.S).group(1)
    printed = re.search(r"^```console\n(.*?)^```$", body, re.M | re.S).group(1).strip()
    return conf, printed


@pytest.mark.parametrize("code", CODES)
def test_the_example_prints_its_diagnostic(code, tmp_path, monkeypatch, capsys):
    conf, printed = example(code)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site.conf").write_text(conf)
    status = main(["import", "nginx", "site.conf"])
    err = capsys.readouterr().err
    headers = [line for line in err.splitlines() if re.match(r"\S+:\d+:\d+: (error|warning)\[", line)]
    assert headers[0] == printed, err
    assert status == (1 if code.startswith("E") else 0)
