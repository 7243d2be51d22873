"""`edgec fuzz`: generated edge files and hostile requests, every target's answer compared
with decide (session), from Hypothesis strategies (strategies) over edge files held as data
(spec)."""
