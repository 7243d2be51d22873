"""Client certificates through the running Spring gateway (server.ssl.client-auth with the CA
as the bundle's trust store, a WebFilter for the subject header): valid, missing and from
another CA, on a listener that requires them and on one that takes them when given
(tests/support/mtls.py)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from edgec.harness.echo import EchoServer
from edgec.pipeline import analyse
from tests.support import mtls

from . import harness

# the project names the certificate files it is built with: they are made before it is
CERTS = mtls.Certificates(Path(tempfile.mkdtemp(prefix="edgec-mtls-")))
EDGES = {mode: analyse(mtls.edge(CERTS, "127.0.0.1:1", mode), f"{mode}.edge").edge for mode in mtls.MODES}
PROJECTS = [(harness.register(f"mtls_{mode}", EDGES[mode]), mode) for mode in mtls.MODES]
PROJECTS.append((harness.register("mtls_required_boot4", EDGES["required"], boot="4"), "required"))


@pytest.fixture(scope="module", autouse=True)
def _certificates():
    yield
    shutil.rmtree(CERTS.dir, ignore_errors=True)


@pytest.mark.parametrize("project_id,mode", PROJECTS, ids=[p for p, _ in PROJECTS])
def test_client_certificates(built, tmp_path, project_id, mode):
    project = built[project_id]
    assert project.jar is not None, f"mvn package failed:\n{project.build_log}"
    port, = harness.free_ports(1)
    with EchoServer("app") as app:
        args = harness.listener_args(EDGES[mode], {8443: port}) + harness.server_args(EDGES[mode], {"app": [app.address]})
        with harness.running(project.jar, args, port, tmp_path / "app.log"):
            assert mtls.failures(CERTS, port, app, mode) == []
