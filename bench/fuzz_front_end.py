"""The front end under a long fuzz run: mutated samples (tokens deleted, duplicated, swapped,
replaced, junk inserted) and samples with hostile values in every field (variables that refer
to themselves, 40 deep or doubling at every level; numbers of 5,000 digits; durations and
sizes past their bounds; control characters), each run through lint of every environment and
the formatter, as tests/language/test_properties.py does with a bounded number of examples.

    python bench/fuzz_front_end.py [--examples 20000] [--seed 0]

Counts the inputs run and every failure: a traceback, a diagnostic without a position, an
error without a diagnostic, or a formatting that is not a fixed point or changes meaning.
Exits 1 if there was any. Results: bench/results/fuzz.md.
"""
from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.language.test_properties import hostile, mutated, never_crashes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = {"mutated": 0, "hostile": 0}
    failures: list[str] = []

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutated().map(lambda s: ("mutated", s)), hostile().map(lambda s: ("hostile", s))))
    def run(case):
        kind, source = case
        runs[kind] += 1
        if sum(runs.values()) % 1000 == 0:
            print(f"... {sum(runs.values()):,} inputs, {len(failures)} failures", file=sys.stderr, flush=True)
        try:
            never_crashes(source)
        except Exception:  # every failure is counted and kept, the run goes on
            failures.append(f"{kind}: {traceback.format_exc(limit=-3)}\n{source!r}"[:4000])

    start = time.process_time()
    run()
    total = sum(runs.values())
    print(f"inputs: {total:,} ({runs['mutated']:,} mutated, {runs['hostile']:,} with hostile values), "
          f"failures: {len(failures)}, CPU {time.process_time() - start:.0f} s")
    for failure in failures[:5]:
        print("----\n" + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
