#!/usr/bin/env python3
"""The worst-case scan's four database reads outside Rampart (BENCHMARKS.md, `rampart scan`).

Runs the queries `rampart scan` makes (affected rows of the lockfile's crates, the records'
references, their ratings, their alias groups) from Python's sqlite3 on a fresh connection per
round, and prints the best of ten rounds per step: a floor for a synchronous read of the same
database, without sqlx's worker thread.

Usage: scripts/scan-queries-bench.py KB_DIR CARGO_LOCK [--mmap]
(KB_DIR made by `rampart import --type osv --data-dir KB_DIR …/rustsec-advisory-db/osv/crates`,
CARGO_LOCK by scripts/worst-case-cargo-lock.py; --mmap reads pages in place.)
"""

import sqlite3
import sys
import time
import tomllib


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    database = f"file:{sys.argv[1]}/rampart.db?mode=ro"
    mmap = "--mmap" in sys.argv[3:]
    with open(sys.argv[2], "rb") as lockfile:
        lock = tomllib.load(lockfile)
    # crates.io names as the store normalises them.
    names = sorted({p["name"].lower().replace("-", "_") for p in lock["package"]})
    best = None
    for _ in range(10):
        started = time.perf_counter()
        db = sqlite3.connect(database, uri=True)
        if mmap:
            db.execute("PRAGMA mmap_size = 268435456")
        opened = time.perf_counter()
        listed = ",".join("?" * len(names))
        rows = db.execute(
            f"""SELECT p.vulnerability_id, v.vuln_id, v.modified, v.withdrawn, v.informational,
                   p.ecosystem, p.name, p.normalized_name, p.purl, p.ranges, p.versions
                FROM affected_packages p JOIN vulnerabilities v ON v.id = p.vulnerability_id
                WHERE p.normalized_name IN ({listed}) ORDER BY p.id""",
            names,
        ).fetchall()
        affected = time.perf_counter()
        ids = sorted({row[0] for row in rows})
        listed = ",".join("?" * len(ids))
        refs = db.execute(
            f"SELECT id, vuln_id, group_id, source, published FROM vulnerabilities WHERE id IN ({listed})",
            ids,
        ).fetchall()
        referenced = time.perf_counter()
        views = db.execute(
            f"""SELECT v.id, v.vuln_id, v.group_id, v.source, v.summary, v.severity_band, g.cvss,
                   g.epss, g.epss_percentile, COALESCE(g.in_kev, FALSE)
                FROM vulnerabilities v LEFT JOIN group_ratings g ON g.group_id = v.group_id
                WHERE v.id IN ({listed})""",
            ids,
        ).fetchall()
        rated = time.perf_counter()
        groups = sorted({row[2] for row in refs})
        listed = ",".join("?" * len(groups))
        aliases = db.execute(
            f"SELECT group_id, alias FROM vuln_aliases WHERE group_id IN ({listed}) ORDER BY alias",
            groups,
        ).fetchall()
        done = time.perf_counter()
        db.close()
        steps = (
            opened - started,
            affected - opened,
            referenced - affected,
            rated - referenced,
            done - rated,
            done - started,
        )
        if best is None or steps[-1] < best[-1]:
            best = steps
    print(
        f"{len(names)} names: {len(rows)} affected rows, {len(refs)} references, "
        f"{len(views)} ratings, {len(aliases)} aliases"
    )
    print(
        "open %.2f, affected %.2f, references %.2f, ratings %.2f, aliases %.2f, all %.2f ms"
        % tuple(step * 1e3 for step in best)
    )


if __name__ == "__main__":
    main()
