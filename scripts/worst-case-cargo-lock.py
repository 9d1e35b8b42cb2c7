#!/usr/bin/env python3
"""Writes the worst-case Cargo.lock of issue 21's scan benchmark to standard output: every crate
a RustSec advisory names, at a version its first advisory's first range affects, and 1,000
crates no advisory names (1,908 packages with the RustSec database in ../shared/data).

Usage: scripts/worst-case-cargo-lock.py [RUSTSEC_OSV_CRATES_DIR] > Cargo.lock
(default: $RAMPART_TEST_DATA or ../shared/data, then rustsec-advisory-db/osv/crates)."""
import glob
import json
import os
import sys

CLEAN_PACKAGES = 1000
REGISTRY = "registry+https://github.com/rust-lang/crates.io-index"


def affected_version(ranges):
    """A version the first range with events affects: its `introduced` one, or 0.0.0 below
    a first fix when it is introduced at 0."""
    for affected_range in ranges:
        for event in affected_range.get("events", []):
            introduced = event.get("introduced")
            if introduced is not None:
                return "0.0.0" if introduced == "0" else introduced
    return None


def main():
    default = os.path.join(
        os.environ.get("RAMPART_TEST_DATA", "../shared/data"), "rustsec-advisory-db/osv/crates"
    )
    directory = sys.argv[1] if len(sys.argv) > 1 else default
    chosen = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
        for affected in record.get("affected", []):
            package = affected.get("package", {})
            if package.get("ecosystem") != "crates.io" or package["name"] in chosen:
                continue
            version = affected_version(affected.get("ranges", []))
            if version is None and affected.get("versions"):
                version = affected["versions"][0]
            if version is not None:
                chosen[package["name"]] = version
    packages = sorted(chosen.items())
    packages += [(f"clean-crate-{n:04}", "1.0.0") for n in range(CLEAN_PACKAGES)]
    out = ["# Worst case for `rampart scan` / `cargo audit` (scripts/worst-case-cargo-lock.py).", "version = 3", ""]
    for name, version in packages:
        out += ["[[package]]", f'name = "{name}"', f'version = "{version}"', f'source = "{REGISTRY}"', ""]
    sys.stdout.write("\n".join(out))
    print(f"{len(packages)} packages ({len(chosen)} named by advisories)", file=sys.stderr)


if __name__ == "__main__":
    main()
