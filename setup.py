"""The runtime's request path (COMPILED: HTTP/1.1's, and the edge's own code of an HTTP/2
connection) built to C extensions with mypyc, from the same Python source, when a wheel is built
(`pip install .`): bench/results/runtime.md has what it saves. The extensions are optional: a
machine without a C compiler installs the package as pure Python, which behaves the same
(`edgec --version` says which runs). An editable install (`pip install -e .`) stays pure, so that
an edited module takes effect; metadata-only steps never run mypy."""
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError

COMPILED = [f"edgec/runtime/{name}.py" for name in ("server", "exchange", "upstream", "outbox", "http", "timers", "plan",
                                                    "h2conn", "h2fields")]
# mypy checks the compiled modules (against what they import) first: a type error fails the build,
# since the compiled code would raise TypeError where an annotation is false at run time
MYPY_OPTIONS = ["--check-untyped-defs", "--follow-imports=silent", "--ignore-missing-imports", "--cache-dir=/dev/null"]


class OptionalBuildExt(build_ext):
    """Leaves the package pure Python, with a warning, when the C compiler is missing or fails."""

    def run(self):
        try:
            super().run()
        except (CCompilerError, CompileError, ExecError, LinkError, PlatformError) as err:
            for ext in self.extensions:  # none of them, rather than some
                built = self.get_ext_fullpath(ext.name)
                if os.path.exists(built):
                    os.remove(built)
            self.extensions = []
            sys.stderr.write(f"WARNING: edgec's runtime is installed as pure Python, not compiled: {err}\n")


def ext_modules():
    if not {"bdist_wheel", "build", "build_ext", "install"} & set(sys.argv[1:]):
        return []  # metadata (egg_info, dist_info) or an editable install
    from mypyc.build import mypycify
    return mypycify([*MYPY_OPTIONS, *COMPILED], opt_level="3", group_name="edgec_runtime")


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
