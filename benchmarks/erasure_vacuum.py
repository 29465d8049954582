"""The VACUUM that follows an erasure on PostgreSQL, timed at many incidents.

    python -m benchmarks.erasure_vacuum --incidents 1000000 [--rounds 5]

Incident rows are cloned as `benchmarks.reports` makes them, then each round rewrites three
incident rows as an erasure does (customer key and data key) and times
`storage.erasure.vacuum_erased` (every table an erasure touches; the indexes of
`incidents` are scanned once to drop the dead versions' entries). A transaction left open
elsewhere in the database can keep the dead versions ("not yet removable"): the index scan
is then skipped and the round is faster than it would be.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import text

from benchmarks.data import DEFAULT_PG, pg_schema
from benchmarks.reports import generate
from recovery.storage.database import create_db_engine
from recovery.storage.erasure import vacuum_erased

ERASE_THREE = (
    "UPDATE incidents SET customer_key = 'erased:bench', personal_key = NULL "
    "WHERE id IN (SELECT id FROM incidents ORDER BY id OFFSET :skip LIMIT 3)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    with pg_schema(args.pg, "bench_vacuum") as url:
        generate(url, args.incidents)
        engine = create_db_engine(url)
        vacuum_erased(engine)  # the load's own dead versions, not timed
        times = []
        for n in range(args.rounds):
            with engine.begin() as conn:
                conn.execute(text(ERASE_THREE), {"skip": 1000 * n})
            start = time.perf_counter()
            assert vacuum_erased(engine), "VACUUM failed: see the log"
            times.append(time.perf_counter() - start)
        engine.dispose()
    print(
        f"{args.incidents} incidents: VACUUM after an erasure, median "
        f"{statistics.median(times):.3f} s, max {max(times):.3f} s ({args.rounds} rounds)"
    )


if __name__ == "__main__":
    main()
