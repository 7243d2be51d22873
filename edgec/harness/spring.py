"""The Spring Cloud Gateway app of an edge: its generated Maven project packaged with `mvn`
(offline while the local repository has everything) and started with `java -jar`, stopped by
PID."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from .processes import stop as stop_process

M2 = Path(os.environ.get("EDGEC_M2_REPOSITORY", Path.home() / ".m2" / "repository"))
JAVA_TEST_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k"]  # start faster: tests and fuzzing only


def mvn(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """`mvn -B` offline, or online once when the local repository lacks something."""
    base = ["mvn", "-B", "-q", f"-Dmaven.repo.local={M2}"]
    proc = subprocess.run(base + ["-o"] + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode and re.search(r"offline mode|has not been downloaded|Cannot access .* in offline",
                                     proc.stdout + proc.stderr):
        proc = subprocess.run(base + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return proc


def package(project: Path) -> Path:
    """`mvn package` in a generated project: the jar it made (RuntimeError with Maven's output
    when it fails)."""
    proc = mvn(["package", "-DskipTests"], project)
    jars = sorted((project / "target").glob("*.jar")) if (project / "target").is_dir() else []
    if proc.returncode or not jars:
        raise RuntimeError("mvn package failed:\n" + (proc.stdout + proc.stderr)[-4000:])
    return jars[0]


class SpringApp:
    """A generated gateway started with `java -jar`, stopped by PID."""

    def __init__(self, jar: Path, args: list[str], port: int, log: Path, env: dict | None = None,
                 java_flags: list[str] | None = None):
        self.jar, self.args, self.port, self.log_path = jar, args, port, log
        self.env = {**os.environ, **(env or {})}
        self.java_flags = JAVA_TEST_FLAGS if java_flags is None else java_flags
        self.proc: subprocess.Popen | None = None

    def start(self) -> "SpringApp":
        java = shutil.which("java") or "java"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([java, *self.java_flags, "-jar", str(self.jar), *self.args],
                                         stdout=log, stderr=subprocess.STDOUT, env=self.env)
        return self

    def wait_ready(self, timeout: float = 240, marker: str = "Started EdgeApplication") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode}:\n{self.log()[-6000:]}")
            if marker in self.log():
                return
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not start in {timeout}s:\n{self.log()[-6000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        stop_process(self.proc, grace=20)
