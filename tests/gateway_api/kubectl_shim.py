"""What `kubectl create secret generic` makes of its arguments, for the commands `edgec build`
prints (kubectl itself is not installed here): --from-literal=KEY=VALUE, --from-file=KEY=PATH
and --from-env-file=PATH (KEY=VALUE lines, '#' comments), read as kubectl reads them. The
Secret's data is written as JSON to $SHIM_OUT/NAME.json."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    assert argv[:3] == ["create", "secret", "generic"], argv
    name, data = argv[3], {}
    rest = argv[4:]
    while rest:
        arg = rest.pop(0)
        if arg == "-n":
            rest.pop(0)
        elif arg.startswith("--from-literal="):
            key, _, value = arg[len("--from-literal="):].partition("=")
            data[key] = value
        elif arg.startswith("--from-file="):
            key, _, path = arg[len("--from-file="):].partition("=")
            data[key] = Path(path).read_text(encoding="utf-8")
        elif arg.startswith("--from-env-file="):
            for line in Path(arg[len("--from-env-file="):]).read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    data[key] = value
        else:
            raise SystemExit(f"kubectl shim: unknown argument {arg}")
    (Path(os.environ["SHIM_OUT"]) / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
