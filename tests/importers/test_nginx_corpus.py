"""The corpus (tests/importers/nginx/*.conf, written from the nginx documentation's examples):
each file is imported, its .edge file lints clean and is pinned, and --verify finds no request
the real nginx answers differently; or the importer refuses it (a file whose first line says
"refused") with E502 at a line of the file."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from edgec.importers.check import checked
from edgec.importers.nginx import import_nginx
from edgec.importers.verify import verify_nginx

CORPUS = Path(__file__).parent / "nginx"
FILES = sorted(CORPUS.glob("*.conf"))


def test_the_corpus_covers_the_directives_the_issue_lists():
    text = "\n".join(p.read_text() for p in CORPUS.rglob("*") if p.is_file())
    for directive in ("location =", "location ^~", "location ~", "location ~*", "upstream", "weight=", "backup",
                      "max_fails=", "least_conn", "ip_hash", "hash ", "keepalive", "proxy_set_header",
                      "add_header", "return 301", "rewrite", "limit_req_zone", "proxy_cache", "auth_basic",
                      "ssl_certificate", "http2", "access_log", "map ", "include", "server_name"):
        assert directive in text, directive
    assert len(FILES) >= 30


@pytest.mark.parametrize("conf", FILES, ids=lambda p: p.stem)
def test_imported_linted_and_verified_or_refused(conf, file_regression):
    result = import_nginx(str(conf), conf.stem)
    edge, diags = checked(result, f"{conf.stem}.edge", str(conf))
    if conf.read_text().startswith("# refused"):
        refusals = [d for d in diags if d.code == "E502"]
        assert edge is None and refusals and refusals[0].span is not None and refusals[0].file == str(conf)
        return
    assert edge is not None, [d.message for d in diags]
    assert [d for d in diags if d.file == f"{conf.stem}.edge"] == []  # lint has nothing to say
    file_regression.check(result.text, basename=conf.stem, extension=".edge")
    if shutil.which("nginx") is None:  # pragma: no cover - CI installs it (tests/run.sh)
        pytest.skip("nginx is not installed")
    out = io.StringIO()
    assert verify_nginx(str(conf), edge, result.servers, out) == 0, out.getvalue()
