"""What every importer hands back: the .edge text (None when refused), its diagnostics, the source
texts they point into, and what the import's check and --verify compare against."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Diagnostic


class Refused(Exception):
    """The source cannot be translated exactly; the diagnostic says why."""


@dataclass
class Imported:
    text: str | None  # None: refused
    diagnostics: list[Diagnostic]
    sources: dict[str, str]
    servers: list = field(default_factory=list)  # what the check compares (per importer)
