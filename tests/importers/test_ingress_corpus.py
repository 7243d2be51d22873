"""The Ingress corpus (tests/importers/ingress/*.yaml, written from ingress-nginx's documentation
examples): each file is imported, lints clean, is pinned, and edgec's decide agrees with
ingress-nginx's documented routing (edgec.importers.ingress.pick) on the requests around every
path; or the importer refuses it (a file whose first line says "refused") with E502 at a line."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgec.importers.check import checked, ingress_mismatches
from edgec.importers.ingress import import_ingress

CORPUS = Path(__file__).parent / "ingress"
FILES = sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_covers_the_annotations_the_issue_lists():
    text = "\n".join(p.read_text() for p in FILES)
    for word in ("pathType: Exact", "pathType: Prefix", "ImplementationSpecific", "tls:", "defaultBackend",
                 "ingressClassName", "rewrite-target", "use-regex", "ssl-redirect", "limit-rps", "limit-rpm",
                 "limit-connections", "auth-type: \"basic\"", "auth-url", "enable-cors", "proxy-read-timeout",
                 "upstream-hash-by", "affinity", "canary-weight", "canary-by-header", "canary-by-cookie",
                 "whitelist-source-range", "denylist-source-range", "configuration-snippet"):
        assert word in text, word
    assert len(FILES) >= 20


@pytest.mark.parametrize("manifest", FILES, ids=lambda p: p.stem)
def test_imported_linted_and_routed_as_ingress_nginx_or_refused(manifest, file_regression):
    result = import_ingress([str(manifest)], manifest.stem)
    edge, diags = checked(result, f"{manifest.stem}.edge", str(manifest), ingress_mismatches)
    if manifest.read_text().startswith("# refused"):
        refusals = [d for d in diags if d.code == "E502"]
        assert edge is None and refusals and refusals[0].file == str(manifest) and refusals[0].span.line > 1
        return
    assert edge is not None, [d.message for d in diags]
    assert [d for d in diags if d.file == f"{manifest.stem}.edge"] == []
    file_regression.check(result.text, basename=manifest.stem, extension=".edge")
    assert ingress_mismatches(edge, result.servers, limit=None) == []
