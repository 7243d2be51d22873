"""--verify with the real nginx: the precedence traps of test_nginx_precedence.py, run as written and
as imported, answer every generated request alike; and a real difference is found and printed."""
from __future__ import annotations

import io
import shutil

import pytest

from edgec.importers.verify import verify_nginx

from .support import imported, wrap
from .test_nginx_precedence import TRAPS

if shutil.which("nginx") is None:  # pragma: no cover - CI installs it (tests/run.sh)
    pytest.skip("nginx is not installed", allow_module_level=True)


def verified(tmp_path, conf: str) -> tuple[int, str]:
    edge, diags, text = imported(tmp_path, conf)
    assert edge is not None, [d.message for d in diags]
    from edgec.importers.nginx import import_nginx
    servers = import_nginx(str(tmp_path / "nginx.conf"), "imported").servers
    out = io.StringIO()
    return verify_nginx(str(tmp_path / "nginx.conf"), edge, servers, out), out.getvalue()


@pytest.mark.parametrize("trap", sorted(TRAPS))
def test_the_real_nginx_answers_the_trap_as_the_import_does(tmp_path, trap):
    status, report = verified(tmp_path, wrap(TRAPS[trap][0]))
    assert status == 0, report
    assert report.endswith(" 0 answered differently\n") and int(report.split()[1]) > 20


def test_proxying_and_redirects_match_the_real_nginx(tmp_path):
    conf = wrap('location /api/ { proxy_pass http://app/v1/; add_header X-Api yes always; }\n'
                'location /raw { proxy_pass http://app; proxy_set_header X-Env prod; }\n'
                'location / { proxy_pass http://app; }\n'
                'location = /old { return 301 https://$host$request_uri; }',
                http='  upstream app { server 127.0.0.1:9; }')
    status, report = verified(tmp_path, conf)
    assert status == 0, report


def test_a_difference_is_printed_with_the_request_and_exit_1(tmp_path, monkeypatch):
    # add_header without `always`: nginx adds it to 200, 201, 204, 206, 301, 302, 303, 304, 307 and
    # 308 answers only, edgec to every one (the import says so in a comment); the echo backend
    # answers 404 when asked to
    from edgec.importers import verify
    monkeypatch.setattr(verify, "paths", lambda locations: ["/x?status=404"])
    conf = wrap('location / { proxy_pass http://app; add_header X-Seen yes; }',
                http='  upstream app { server 127.0.0.1:9; }')
    status, report = verified(tmp_path, conf)
    assert status == 1
    assert "DIFF GET http://default.test:8080/x?status=404" in report
    assert "response header x-seen: nginx None, imported yes" in report
