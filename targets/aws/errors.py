"""A route or value the ALB cannot take: becomes a Diagnostic with the route's span."""
from __future__ import annotations

from edgec.diagnostics import Span

CANNOT = "E410"  # ALB has no way to say this
QUOTA = "E411"  # over a documented ALB or WAF quota
MODEL = "E413"  # botocore's service model rejects a parameter


class PlanError(Exception):
    def __init__(self, code: str, message: str, span: Span | None, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint
