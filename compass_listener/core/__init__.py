"""Pure Python: payload parsing, signatures, folding rules, event records (no Qt, no I/O)."""
