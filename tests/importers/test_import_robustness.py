"""Bad input never breaks the import: mutated corpus files end in an .edge file or in diagnostics,
never a traceback; and nothing a configuration holds escapes its quoting in the written file."""
from __future__ import annotations

import random

from edgec.importers.check import checked, ingress_mismatches
from edgec.importers.ingress import import_ingress
from edgec.importers.nginx import import_nginx

from .support import answer, imported, wrap
from .test_ingress_corpus import FILES as MANIFESTS
from .test_nginx_corpus import FILES as CONFS

WORDS = ["$x", '"', "'", "/", "=", "~", "^~", "~*", "{", "}", ";", "http://", "unix:/a", "0", "-1", "99999999",
         "\\", "location", "server", "backup", "weight=0", "443 ssl", "[::]:80", "$1", "(", ")", "*.", "- a", ": b"]


def mutated(rnd: random.Random, text: str) -> str:
    tokens = text.split(" ")
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(tokens))
        op = rnd.random()
        if op < 0.3:
            tokens[i] = rnd.choice(WORDS)
        elif op < 0.6:
            tokens.insert(i, rnd.choice(WORDS))
        else:
            del tokens[i]
    return " ".join(tokens)


def test_mutated_configurations_end_in_a_file_or_diagnostics(tmp_path):
    rnd = random.Random(16)
    for n in range(150):
        nginx = n % 3 != 2
        source = rnd.choice(CONFS if nginx else MANIFESTS)
        path = tmp_path / (f"m{n}.conf" if nginx else f"m{n}.yaml")
        path.write_text(mutated(rnd, source.read_text()))
        if nginx:
            result = import_nginx(str(path), "m")
            edge, diags = checked(result, "m.edge", str(path))
        else:
            result = import_ingress([str(path)], "m")
            edge, diags = checked(result, "m.edge", str(path), ingress_mismatches)
        assert edge is not None or any(d.severity == "error" and d.span is not None or d.code == "E502"
                                       for d in diags), path.read_text()


def test_values_keep_their_bytes_and_never_leave_their_string(tmp_path):
    hostile = 'a\\"b \\\\n } route evil { respond 200 "pwned # x'
    conf = wrap(f"location / {{ return 200 '{hostile}'; add_header X-H '{hostile}' always; }}")
    edge, diags, text = imported(tmp_path, conf)
    assert edge is not None, [d.message for d in diags]
    assert [r.name for r in edge.routes] == ["root"]  # no route came out of a value
    from edgec.importers.nginx_config import load
    cfg, _ = load(str(tmp_path / "nginx.conf"))
    [loc] = cfg.root.first("http").first("server").children("location")
    written = loc.first("return").args[1]  # the text as nginx reads it
    reply = answer(edge, "/")
    assert reply.body == written and '"pwned # x' in written
    assert reply.response_header_ops.add[0][1] == written
