"""Real gateways on this machine, held to decide: echo backends that report what reached
them (echo), starting and stopping processes (processes), an IR moved onto loopback and the
capability table's skips (live), the targets started (gateways), and one request sent and
compared with a case (driver). The conformance tests and `edgec fuzz` both use it."""
