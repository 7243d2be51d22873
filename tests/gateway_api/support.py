"""Building manifests with the gateway-api target and validating them as a Kubernetes API
server would: kubectl-validate with the CRDs of the pinned Gateway API release (schema
and CEL rules), built by tools.sh."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from edgec import ir
from edgec.diagnostics import Diagnostic
from edgec.harness import gateways

HERE = Path(__file__).resolve().parent
VALIDATOR = Path.home() / ".cache" / "edgec-tools" / "bin" / "kubectl-validate"
GATEWAY_API = "sigs.k8s.io/gateway-api@v1.6.1"
ENVOY_GATEWAY = "github.com/envoyproxy/gateway@v1.9.1"
GO = shutil.which("go") or "/usr/local/go/bin/go"


def build(edge: ir.Edge, options: dict[str, str] | None = None,
          strict: bool = False) -> tuple[dict[str, str] | None, list[Diagnostic]]:
    """(files, diagnostics) from the gateway-api target; files is None when it reported an error."""
    return gateways.build("gateway-api", edge, options, strict=strict)


def _module_dir(module: str) -> Path:
    out = subprocess.run([GO, "mod", "download", "-json", module], capture_output=True, text=True, cwd="/tmp",
                         timeout=600)
    if out.returncode:
        raise RuntimeError(out.stdout + out.stderr)
    return Path(json.loads(out.stdout)["Dir"])


def crds(tmp: Path) -> Path:
    """A directory of the CRDs the output may use: the Gateway API standard channel and
    Envoy Gateway's policies (copies: the module cache is read-only)."""
    out = tmp / "crds"
    out.mkdir()
    standard = _module_dir(GATEWAY_API) / "config" / "crd" / "standard"
    files = [p for p in standard.glob("gateway.networking.k8s.io_*.yaml") if "vap" not in p.name]
    generated = _module_dir(ENVOY_GATEWAY) / "charts" / "gateway-helm" / "charts" / "crds" / "crds" / "generated"
    files += sorted(generated.glob("gateway.envoyproxy.io_*.yaml"))
    for path in files:
        (out / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return out


def validator() -> Path:
    if not VALIDATOR.exists():
        message = f"{VALIDATOR} is missing: run bash tests/gateway_api/tools.sh"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI runs tools.sh first: a missing validator is a broken install
        pytest.skip(message)
    return VALIDATOR


def validate(manifests: Path, crd_dir: Path) -> dict:
    """kubectl-validate's verdict per document: {"ok": bool, "failures": [message, ...], "output": text}."""
    res = subprocess.run([str(validator()), "--local-crds", str(crd_dir), "-o", "json", str(manifests)],
                         capture_output=True, text=True, timeout=300)
    try:
        verdicts = json.loads(res.stdout[:res.stdout.rindex("}") + 1])[str(manifests)]
    except (ValueError, KeyError):
        return {"ok": False, "failures": [res.stdout + res.stderr], "output": res.stdout + res.stderr}
    failures = [v.get("message", "") for v in verdicts if v.get("status") != "Success"]
    return {"ok": res.returncode == 0 and not failures, "failures": failures, "output": res.stdout + res.stderr}
