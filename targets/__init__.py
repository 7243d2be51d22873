"""Targets: one sub-package per product, each a Target subclass with its capability table.

A target is found by name (the sub-package's name, with "-" for "_": gateway_api is
`gateway-api`). Adding one means adding a folder here with `TARGET = MyTarget` in its
`__init__.py`; nothing else changes.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import field
from typing import Callable, ClassVar

from edgec import ir
from edgec.diagnostics import Sink, Span, did_you_mean
from edgec.keptcode import dataclass

NATIVE = "native"
APPROXIMATE = "approximate"
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Capability:
    level: str  # native | approximate | unsupported
    note: str = ""  # for approximate: what differs; for unsupported: why, and what to do instead
    # for approximate: the only requests on which the difference can show, a name of
    # edgec.features.EXERCISED (None: every request whose outcome depends on the feature)
    when: str | None = None


def native(note: str = "") -> Capability:
    return Capability(NATIVE, note)


def approximate(note: str, when: str | None = None) -> Capability:
    return Capability(APPROXIMATE, note, when)


def unsupported(note: str) -> Capability:
    return Capability(UNSUPPORTED, note)


@dataclass
class BuildContext:
    """What an emitter gets besides the IR, and the one way a target says what it cannot
    express exactly: unsupported() is an error (E401), approximates() a warning (W402) that
    --strict makes an error."""

    edge: ir.Edge
    sink: Sink
    options: dict[str, str] = field(default_factory=dict)
    resolve_secret: Callable[[ir.Secret], str] | None = None
    target: str = field(kw_only=True)
    strict: bool = field(default=False, kw_only=True)

    def unsupported(self, what: str, span: Span | None, hint: str | None = None) -> None:
        self.sink.error("E401", f"target '{self.target}' cannot express {what}", span, hint)

    def approximates(self, what: str, span: Span | None, hint: str | None = None, *, written: bool = True) -> None:
        """`what` says what is approximated and how the result differs. --strict makes it an error
        when the file wrote it; a default the file does not write stays a warning."""
        if self.strict and written:
            self.unsupported(what, span, (f"{hint}; " if hint else "") + "--strict turns approximations into errors")
        else:
            self.sink.warning("W402", f"target '{self.target}' approximates {what}", span, hint)


class Target:
    name: ClassVar[str]
    description: ClassVar[str]
    capabilities: ClassVar[dict[str, Capability]]
    # target options (`--option key=value`): name → (default, help)
    options: ClassVar[dict[str, tuple[str, str]]] = {}
    # capability tables an option value selects instead ("gateway=apigw" → table), shown as columns
    profiles: ClassVar[dict[str, dict[str, Capability]]] = {}

    def check(self, ctx: BuildContext) -> None:
        """Report every feature the edge uses that this target cannot express exactly. Defaults
        the file does not write that the target only approximates are summed up in one warning:
        one per upstream would bury what the file asks for."""
        # the feature table is read only when a target checks: `edgec lint` asks the registry
        # for target names alone
        from edgec.features import EVERY_REQUEST, FEATURES, feature_uses
        reported = set()
        defaults: dict[str, int] = {}
        first_default = None  # where the summary points: a `# edgec: ignore` there silences it
        table = self.capabilities
        unknown = Capability(UNSUPPORTED, "not in the capability table")
        # only the statements that can use a feature the table does not call native are asked
        wanted = frozenset(f for f in FEATURES if table.get(f, unknown).level != NATIVE)
        uses = [(feature, where, span, default, cap) for feature, where, span, default in feature_uses(ctx.edge, wanted)
                if (cap := table.get(feature, unknown)).level != NATIVE]
        # a part of a feature (action.aggregate.timeout) the target cannot build the whole of
        # (action.aggregate) at the same place adds nothing to the whole's error
        refused = {(feature, where) for feature, where, _, _, cap in uses if cap.level == UNSUPPORTED}
        for feature, where, span, default, cap in uses:
            if (feature, where) in reported or any(
                    (feature[:dot], where) in refused for dot in range(len(feature)) if feature[dot] == "."):
                continue
            reported.add((feature, where))
            what = f"{FEATURES.get(feature, feature)} [{feature}] in {where}" + (f": {cap.note}" if cap.note else "")
            if cap.level == UNSUPPORTED:
                ctx.unsupported(what, span, f"see `edgec targets` for what {self.name} supports")
            elif feature in EVERY_REQUEST:
                # no statement sets it (the summary's hint would send the user looking for one): said
                # on its own with what differs, and --strict keeps it a warning
                ctx.approximates(what, span, written=False)
            elif default:
                defaults[feature] = defaults.get(feature, 0) + 1
                first_default = first_default or span
            else:
                ctx.approximates(what, span)
        if defaults:
            listed = ", ".join(f"{feature} ({count})" for feature, count in sorted(defaults.items()))
            ctx.approximates(f"defaults the file does not set: {listed}", first_default,
                             f"`edgec targets` says how {self.name} treats each; setting one in the file reports "
                             "it where it is written", written=False)

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        """Relative path → file content. Called only when check() reported no error."""
        raise NotImplementedError

    def executables(self, files: dict[str, str]) -> frozenset[str]:
        """The emitted files to mark executable (scripts)."""
        return frozenset()

    def private_files(self, files: dict[str, str]) -> frozenset[str]:
        """The emitted files only their owner may read (mode 0600): credentials."""
        return frozenset()

    def notes(self, files: dict[str, str]) -> list[str]:
        """What the user must know to run the emitted files (a module to install), one line each."""
        return []

    def option(self, ctx: BuildContext, key: str) -> str:
        return ctx.options.get(key, self.options[key][0])


def names() -> list[str]:
    here = os.path.dirname(__file__)
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules([here]) if m.ispkg)


class UnknownTarget(LookupError):
    def __init__(self, name: str):
        self.name = name
        guess = did_you_mean(name, names())
        super().__init__(f"unknown target '{name}'" + (f"; did you mean '{guess}'?" if guess else "")
                         + f" (targets: {', '.join(names())})")


def get(name: str) -> Target:
    if name not in names():
        raise UnknownTarget(name)
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    return module.TARGET()
