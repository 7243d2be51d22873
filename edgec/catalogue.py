"""Every diagnostic code edgec reports, as data: its name, level, stage and one-line summary.

A stage reports a problem by its code alone (`sink.error("E104", message, span)`); the name
(what `# edgec: ignore[name]` says, and the `rule` of JSON and SARIF output) and the level come
from here, so a code means the same wherever it is raised. The letter is the level: E an
error, W a warning. docs/lint.md is generated from this table and the prose of
docs/src/lint.md (`python -m edgec.lintdoc > docs/lint.md`).
"""
from __future__ import annotations

from .keptcode import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    stage: str  # what finds it, as docs/lint.md says: syntax, names, values, lint, target...
    summary: str  # one line, lower case, no final period

    @property
    def level(self) -> str:
        return ERROR if self.code.startswith("E") else WARNING

    @property
    def suppressible(self) -> bool:
        """Whether `# edgec: ignore[name]` in the .edge file can silence it: not errors, not what is
        about the file as a whole or its suppressions, not what is about another file (an import)."""
        return self.level == WARNING and self.stage not in ("format", "suppressions", "import")

    @property
    def anchor(self) -> str:
        """The fragment of its entry in docs/lint.md (the heading `## E104 undefined-upstream`)."""
        return f"{self.code.lower()}-{self.name}"

    @property
    def docs(self) -> str:
        return f"docs/lint.md#{self.anchor}"


CODES = (
    Code("E000", "unreadable-file", "reading", "the file does not exist, cannot be read, or is not UTF-8 text"),
    # syntax: the file cannot be read as the language
    Code("E001", "unexpected-token", "syntax", "something appears where the language does not allow it"),
    Code("E002", "unexpected-end-of-file", "syntax", "the file ends inside a block or a statement"),
    Code("E003", "unknown-escape", "syntax", "a string holds a backslash escape the language does not know"),
    Code("E004", "unterminated-variable", "syntax", "a `${` is not closed with `}`"),
    Code("E005", "stray-semicolon", "syntax", "a `;`: statements end at the line break"),
    Code("E006", "single-quotes", "syntax", "a string in single quotes: strings are written in double quotes"),
    Code("E007", "unterminated-string", "syntax", "a string is not closed on its line"),
    Code("E008", "equals-or-colon", "syntax", "a setting written with `=` or `:`: settings are `keyword value`"),
    Code("E009", "missing-unit", "syntax", "a duration, rate or size without its unit"),
    Code("E010", "given-twice", "syntax", "an option is given twice in one statement"),
    Code("E011", "unknown-keyword", "syntax", "a word is not a keyword of the block it is in"),
    Code("E012", "missing-close-brace", "syntax", "a block is not closed before the next statement of its parent"),
    Code("E013", "missing-name", "syntax", "a route, upstream, auth provider or env block has no name"),
    Code("E014", "empty-match", "syntax", "a `match` has no condition"),
    Code("E015", "missing-comma", "syntax", "list items or the upstreams of a weighted forward without commas"),
    Code("E016", "rate-limit-without-rate", "syntax", "a `rate_limit` without its rate"),
    Code("E017", "missing-open-brace", "syntax", "a block's name is not followed by `{`"),
    Code("E018", "incomplete-statement", "syntax", "a statement lacks a part it needs"),
    Code("E019", "outside-edge-block", "syntax", "text outside the one `edge \"NAME\" { }` block"),
    Code("E020", "unquoted-string", "syntax", "a string value written without quotes"),
    Code("E021", "quoted-name", "syntax", "a name written as a string: names are bare words"),
    Code("E022", "control-character", "syntax",
         "a string holds a control or bidirectional character (raw, or in any field once decoded)"),
    # names and references
    Code("E101", "undefined-variable", "names", "a `${name}` refers to a variable that is not defined, or to itself"),
    Code("E102", "undefined-env", "names", "`--env` names an environment the file does not define"),
    Code("E103", "env-required", "names", "the file defines environments and none was chosen"),
    Code("E104", "undefined-upstream", "names",
         "a route forwards, mirrors or aggregates to an upstream that is not declared"),
    Code("E105", "undefined-auth", "names", "a route uses an auth provider that is not declared"),
    Code("E106", "duplicate-name", "names", "two routes, upstreams, auth providers or envs share a name"),
    Code("E107", "env-missing-variable", "names", "a variable is defined in some environments but not in this one"),
    Code("E108", "wrong-type", "values", "a variable's value has the wrong type for where it is used"),
    Code("E109", "secret-misuse", "values", "a secret used where it would be written into a generated file"),
    Code("E110", "literal-secret", "values", "a credential written in the file instead of a secret reference"),
    Code("E111", "duplicate-variable", "names",
         "a variable is assigned twice in one env or vars block (only the last would count)"),
    Code("E112", "bad-secret-name", "values", "a secret's name is not an environment variable name"),
    Code("E113", "unknown-target", "names", "a `target NAME { }` block names no target edgec has"),
    Code("E114", "target-input-variable", "names",
         "a variable named like `aws_region`: a target's settings are written in its `target NAME { }` block"),
    # values
    Code("E201", "port-out-of-range", "values", "a port is not within 1..65535"),
    Code("E202", "bad-address", "values", "a server address is not host:port, or an address is not an IP address"),
    Code("E203", "zero-rate", "values", "a rate limit of 0 lets nothing through"),
    Code("E204", "zero-weights", "values", "a forward's weights add up to 0: no backend can receive traffic"),
    Code("E205", "bad-regex", "values", "a regular expression does not compile or uses what not every target has"),
    Code("E206", "health-timeout", "values", "a health check's timeout is not shorter than its interval"),
    Code("E207", "https-without-certificate", "values",
         "an https listener has no tls cert/key (or an http listener has tls or http2)"),
    Code("E208", "missing-action", "values", "a route has no action, or an aggregate has no parts"),
    Code("E209", "duplicate-action", "values", "a route has two actions"),
    Code("E210", "bad-path", "values", "a path does not start with `/`, or a route's path holds `?` or `#`"),
    Code("E211", "bad-method", "values", "an HTTP method edgec does not know"),
    Code("E212", "value-out-of-range", "values",
         "a number is outside what the setting allows, or a value beyond the language's bounds"),
    Code("E213", "rewrite-prefix-mismatch", "values",
         "`strip_prefix` / `rewrite prefix` names a prefix that some match of the route does not start with"),
    Code("E214", "claim-key-needs-jwt", "values", "a rate limit keyed by a JWT claim on a route without JWT auth"),
    Code("E215", "duplicate-statement", "values", "a statement that can appear once is given twice"),
    Code("E216", "upstream-without-servers", "values", "an upstream with no servers"),
    Code("E217", "backup-with-hash", "values",
         "backup servers in an upstream balanced by hash, ip_hash or random (no server is ever 'next')"),
    Code("E218", "bad-host", "values", "a host condition is not a host name or `*.wildcard`"),
    Code("E219", "bad-header", "values", "a header name HTTP does not allow, a request header name with `_`, "
         "or a header value with a line break"),
    Code("E220", "bad-retry", "values", "a retry condition is not an error status, `5xx` or `connect_error`"),
    Code("E221", "bad-value", "values", "a value is not one the setting accepts"),
    Code("E222", "duplicate-listener", "values", "two listeners on the same address and port"),
    Code("E223", "redirect-prefix-mismatch", "values",
         "a `redirect prefix` on a route whose matches are not all path prefixes"),
    Code("E224", "header-op-arity", "values", "a header operation has the wrong number of values"),
    Code("E225", "hsts-without-tls", "lint", "hsts on a listener that does not serve HTTPS"),
    Code("E226", "body-not-allowed", "values", "`respond` gives a body to a status HTTP sends without one (204, 205, 304)"),
    Code("E227", "service-with-servers", "values", "an upstream names a Kubernetes Service and servers too"),
    Code("E230", "require-needs-jwt", "values", "`require claim` or `require scope` on a route without JWT auth"),
    Code("E231", "impossible-requirement", "values",
         "a required claim or scope no token can carry (no value, an empty or numeric claim, a scope with a space)"),
    Code("E232", "request-id-header", "values",
         "a route's header operation, a rate limit or an authorization service's copied headers name X-Request-Id, "
         "the request id the edge assigns and passes on"),
    # lint warnings
    Code("W301", "unused-upstream", "lint", "an upstream no route uses"),
    Code("W302", "unused-auth", "lint", "an auth provider no route uses"),
    Code("W303", "unused-variable", "lint", "a variable is defined but never used"),
    Code("W304", "shadowed-route", "lint (routing)",
         "a route that can never win: every request it matches is taken by a more specific or earlier route"),
    Code("W305", "duplicate-match", "lint (routing)", "two routes have identical matches: the first always wins"),
    Code("W306", "redirect-loop", "lint (routing)", "a redirect whose target comes back to the same route"),
    Code("W307", "not-formatted", "format", "the file is not in the layout `edgec fmt` prints"),
    Code("W308", "unknown-suppression", "suppressions",
         "a suppression names no rule, an unknown rule, or one that cannot be suppressed"),
    Code("W309", "unused-suppression", "suppressions", "a suppression silences nothing on its line"),
    Code("W310", "weights-not-100", "lint", "a forward written with percentages that do not add up to 100%"),
    Code("W311", "duplicate-server", "lint", "the same server address appears twice in one upstream"),
    Code("W312", "per-try-timeout", "lint",
         "a per-attempt timeout that is not shorter than the whole request's timeout leaves no time to retry"),
    Code("W313", "cache-never-used", "lint", "a cache on a route that never produces a response it would store"),
    Code("W314", "retry-never-applies", "lint",
         "retries on a route that only matches non-idempotent methods, which are never retried"),
    Code("W315", "mirror-to-self", "lint",
         "a route mirrors requests to an upstream it also forwards to (the upstream gets them twice)"),
    Code("W316", "https-redirect-without-listener", "lint",
         "an http listener redirects to an https port no listener of this edge serves"),
    Code("W317", "hsts-preload", "lint", "hsts asks for preload without what the preload list requires"),
    Code("W318", "may-shadow", "lint (routing)",
         "a prefix route whose requests a regex route seems to take (regexes rank above prefixes)"),
    Code("W319", "host-bits-in-network", "values",
         "a CIDR range with host bits set (`10.0.0.1/8`): it means its network, which may not be what was meant"),
    Code("W320", "allow-inside-deny", "lint",
         "an allowed network lies inside a denied one (deny wins): it lets no one in"),
    Code("W321", "tie-break", "lint (routing)",
         "two routes can take one request and a tie-break rule (source order, a method over headers, headers "
         "over query) picks the winner"),
    # what a target can express
    Code("E401", "target-capability", "target", "the target cannot express a feature the file uses"),
    Code("W402", "target-approximation", "target", "the target expresses a feature only approximately"),
    Code("E403", "target-option", "target", "a target option has a value the target cannot use"),
    Code("E404", "target-input", "target", "something the target needs at build time is missing"),
    Code("E410", "aws-plan", "target (aws)", "the Application Load Balancer has no way to express a value"),
    Code("E411", "aws-quota", "target (aws)", "the file needs more than a documented ALB or WAF quota allows"),
    Code("E412", "aws-input", "target (aws)", "a setting of `target aws { }` is unknown or malformed"),
    Code("E413", "aws-model", "target (aws)", "a call of the generated script has a parameter AWS's model rejects"),
    Code("W414", "aws-gateway-chosen", "target (aws)",
         "`-O gateway=auto` put an HTTP API (API Gateway) in front of the load balancer"),
    # edgec import: another product's configuration read into a .edge file
    Code("E501", "import-unreadable", "import", "the configuration to import cannot be read or parsed"),
    Code("E502", "import-refused", "import",
         "the configuration does something edgec cannot reproduce exactly: nothing is written"),
    Code("W503", "import-not-carried-over", "import", "a directive or setting the import leaves out"),
)

BY_CODE = {c.code: c for c in CODES}
BY_NAME = {c.name: c for c in CODES}


def lookup(code: str) -> Code:
    try:
        return BY_CODE[code]
    except KeyError:
        raise KeyError(f"diagnostic code {code} is not in edgec/catalogue.py") from None
