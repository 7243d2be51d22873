"""`edgec import` on the command line: where the file goes, what a refusal leaves behind, exit statuses."""
from __future__ import annotations

import shutil

import pytest

from edgec.cli import main

from .test_ingress_corpus import CORPUS as INGRESS
from .test_nginx_corpus import CORPUS as NGINX


def test_the_written_file_lints_clean(tmp_path, capsys):
    out = tmp_path / "shop.edge"
    assert main(["import", "nginx", str(NGINX / "10-virtual-hosts.conf"), "-o", str(out)]) == 0
    assert out.read_text().startswith("# Imported from 10-virtual-hosts.conf")
    assert 'edge "shop"' in out.read_text()  # named after the output
    capsys.readouterr()
    assert main(["lint", str(out)]) == 0


def test_a_refused_file_writes_nothing_and_exits_1(tmp_path, capsys):
    out = tmp_path / "app.edge"
    assert main(["import", "nginx", str(NGINX / "29-refused-if.conf"), "-o", str(out)]) == 1
    assert not out.exists()
    assert "error[E502]" in capsys.readouterr().err


def test_without_output_the_file_goes_to_standard_output(capsys):
    assert main(["import", "ingress", str(INGRESS / "01-simple-fanout.yaml")]) == 0
    assert 'edge "01-simple-fanout"' in capsys.readouterr().out


def test_nginx_takes_one_file(capsys):
    assert main(["import", "nginx", "a.conf", "b.conf"]) == 2
    assert "the one file nginx is started with" in capsys.readouterr().err


def test_ingress_verify_reports_and_exits_0(capsys):
    assert main(["import", "ingress", str(INGRESS / "21-canary-header.yaml"), "--verify"]) == 0
    report = capsys.readouterr().out.splitlines()[-1]
    assert report.startswith("verify: ") and int(report.split()[1]) >= 8
    assert report.endswith(" 0 routed differently from ingress-nginx's documented routing")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_verify_reports_and_exits_0(tmp_path, capsys):
    assert main(["import", "nginx", str(NGINX / "25-caret-tilde-static.conf"), "-o", str(tmp_path / "a.edge"),
                 "--verify"]) == 0
    assert ", 0 answered differently" in capsys.readouterr().out
