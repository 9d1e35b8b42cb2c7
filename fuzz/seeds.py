#!/usr/bin/env python3
"""Builds a fuzz target's seed corpus: a bounded, deterministic sample of the real records in
the shared test data (`RAMPART_TEST_DATA`, else `../shared/data` beside the repository), plus
the small hand-written seeds and past reproducers committed under `fuzz/seeds/<target>/`.

    python3 fuzz/seeds.py TARGET OUTDIR [--max-bytes N] [--files N]

Nothing from the shared data is ever committed: the corpus is made at run time in OUTDIR.
Targets whose first input byte selects a parser (`lockfile`, `version`, `vex_cyclonedx`) get
that byte prepended, matching `LOCKFILE_NAMES` and `SCHEMES` in `fuzz/src/lib.rs`.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
REPO = FUZZ_DIR.parent

# fuzz/src/lib.rs: LOCKFILE_NAMES and SCHEMES, in order.
LOCKFILE_NAMES = ["-", "Cargo.lock", "package-lock.json", "requirements.txt", "poetry.lock",
                  "go.sum", "go.mod", "Gemfile.lock"]
SCHEMES = ["generic", "semver", "npm", "go", "pub", "pep440", "maven", "nuget", "rubygems",
           "composer", "dpkg", "rpm", "apk", "cran", "hackage"]
# osv-scalibr's comparison fixtures (`A < B` lines) by file name prefix.
SEMANTIC_SCHEMES = {"alpine": "apk", "cran": "cran", "debian": "dpkg", "hackage": "hackage",
                    "maven": "maven", "nuget": "nuget", "packagist": "composer", "pub": "pub",
                    "pypi": "pep440", "redhat": "rpm", "rubygems": "rubygems", "semver": "semver"}

CDX_TESTS = "cyclonedx-spec-tests/tools/src/test/resources"

# Per target: (folder under the data, file name suffixes) pairs sampled as whole files.
FILES = {
    "sbom": [("cyclonedx-bom-examples/SBOM", (".json", ".xml")),
             (CDX_TESTS, (".json", ".xml")),
             ("spdx-examples", (".json", ".spdx", ".xml", ".yaml"))],
    "sbom_cyclonedx_json": [(CDX_TESTS, (".json",)), ("cyclonedx-bom-examples", (".json",))],
    "sbom_cyclonedx_xml": [(CDX_TESTS, (".xml",)), ("cyclonedx-bom-examples", (".xml",))],
    "sbom_spdx_json": [("spdx-examples", (".json",))],
    "sbom_spdx_tag_value": [("spdx-examples", (".spdx",))],
    "osv_json": [("rustsec-advisory-db/osv", (".json",)), ("peer-tests/osv-dev", (".json",)),
                 ("peer-tests/osv-schema", (".json",))],
    "osv_yaml": [("osv-pypa", (".yaml",)), ("osv-oss-fuzz-vulns", (".yaml",))],
    "cve5": [("cve-json5", (".json",))],
    "nvd": [("nvd-cve-api-2.0", (".json",)), ("peer-tests/osv-dev", (".json",))],
    "kev": [("cisa-kev", (".json", ".csv"))],
    "epss": [("epss", (".csv",))],
    "exploitdb": [],
    "sarif": [("sarif", (".sarif", ".json"))],
    "vex": [("vex/openvex-go-vex", (".json",)), ("vex/openvex-spec", (".json",)),
            ("vex/csaf-2.0/csaf_2.0/examples", (".json",)),
            ("cyclonedx-bom-examples/VEX", (".json", ".xml"))],
    "vex_openvex": [("vex/openvex-go-vex", (".json",)), ("vex/openvex-spec", (".json",))],
    "vex_cyclonedx": [("cyclonedx-bom-examples/VEX", (".json", ".xml")),
                      ("cyclonedx-bom-examples/VDR", (".json", ".xml"))],
    "vex_csaf": [("vex/csaf-2.0/csaf_2.0/examples", (".json",)),
                 ("vex/csaf-2.0/csaf_2.0/test/validator/data", (".json",))],
    "lockfile": [],
    "purl": [], "vers": [], "cpe": [], "version": [],
}

# Targets seeded with strings found in JSON test suites: (folder, prefix of the strings).
STRINGS = {
    "purl": [("peer-tests/purl-spec/tests", "pkg:")],
    "vers": [("peer-tests/vers-spec/tests", "vers:")],
    "cpe": [("nvd-cve-api-2.0", "cpe:"), ("peer-tests/osv-dev", "cpe:")],
}


def data_dir() -> Path:
    env = os.environ.get("RAMPART_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def spread(items, count):
    """`count` items evenly spaced through the sorted list (all of them when fewer)."""
    items = sorted(items)
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def candidates(root: Path, folder: str, suffixes):
    base = root / folder
    if not base.is_dir():
        return []
    return [path for path in base.rglob("*")
            if path.is_file() and path.name.lower().endswith(suffixes)]


def trim_lists(value, keep):
    if isinstance(value, list):
        return [trim_lists(item, keep) for item in value[:keep]]
    if isinstance(value, dict):
        return {key: trim_lists(item, keep) for key, item in value.items()}
    return value


def sample_bytes(path: Path, max_bytes: int):
    """The file, or when it is larger than `max_bytes` a cut-down copy of the same shape
    (JSON with every list cut to a few items, line formats to their first lines)."""
    content = path.read_bytes()
    if len(content) <= max_bytes:
        return content
    name = path.name.lower()
    if name.endswith((".json", ".sarif")):
        try:
            document = json.loads(content)
        except ValueError:
            return None
        for keep in (8, 3, 1):
            small = json.dumps(trim_lists(document, keep), indent=1).encode()
            if len(small) <= max_bytes:
                return small
        return None
    if name.endswith((".csv", ".yaml", ".spdx", ".txt")):
        small = b"\n".join(content.splitlines()[:60]) + b"\n"
        return small if len(small) <= max_bytes else None
    return None


def json_strings(value, prefix, out):
    if isinstance(value, str):
        if value.startswith(prefix):
            out.add(value)
    elif isinstance(value, list):
        for item in value:
            json_strings(item, prefix, out)
    elif isinstance(value, dict):
        for item in value.values():
            json_strings(item, prefix, out)


def write(outdir: Path, content: bytes, written: set):
    name = hashlib.sha1(content).hexdigest()
    if name not in written:
        written.add(name)
        (outdir / name).write_bytes(content)


def lockfile_selector(name: str) -> int:
    for index, known in enumerate(LOCKFILE_NAMES):
        if index and name.endswith(known):
            return index
    return 0


def build(target: str, outdir: Path, max_bytes: int, files: int) -> int:
    if target not in FILES:
        sys.exit(f"seeds.py: unknown target {target!r}")
    root = data_dir()
    outdir.mkdir(parents=True, exist_ok=True)
    written: set = set()

    # Whole files from the shared data, sampled across each target's folders.
    folders = FILES[target]
    chosen = []
    for folder, suffixes in folders:
        chosen.extend(spread(candidates(root, folder, suffixes), -(-files // len(folders))))
    for path in chosen:
        content = sample_bytes(path, max_bytes)
        if content is None:
            continue
        if target == "vex_cyclonedx":
            content = bytes([1 if path.suffix == ".xml" else 0]) + content
        write(outdir, content, written)

    # Strings pulled out of JSON test suites.
    for folder, prefix in STRINGS.get(target, []):
        found: set = set()
        base = root / folder
        for path in sorted(base.rglob("*.json")) if base.is_dir() else []:
            try:
                json_strings(json.loads(path.read_text(encoding="utf-8")), prefix, found)
            except (ValueError, UnicodeDecodeError):
                continue
        for text in spread(found, files * 10):
            write(outdir, text.encode(), written)

    # Version pairs: each `A < B` line of osv-scalibr's fixtures as "A\nB" for its scheme.
    if target == "version":
        semantic = root / "peer-tests/osv-scalibr-semantic/semantic/testdata"
        for path in sorted(semantic.glob("*.txt")) if semantic.is_dir() else []:
            scheme = SEMANTIC_SCHEMES.get(path.name.split("-")[0])
            if scheme is None:
                continue
            pairs = []
            for line in path.read_text(encoding="utf-8").splitlines():
                parts = line.split(" ")
                if len(parts) == 3 and parts[1] in ("<", ">", "="):
                    pairs.append(f"{parts[0]}\n{parts[2]}")
            for pair in spread(pairs, files):
                write(outdir, bytes([SCHEMES.index(scheme)]) + pair.encode(), written)
                # The generic fallback reads every ecosystem's spellings.
                write(outdir, bytes([0]) + pair.encode(), written)

    # Real lockfiles of this repository (Cargo.lock, npm lockfiles, pip requirements).
    if target == "lockfile":
        own = [REPO / "Cargo.lock", *sorted((REPO / "scripts").glob("*/package-lock.json")),
               *sorted((REPO / "scripts").glob("*/requirements.txt"))]
        for path in own:
            if path.is_file() and path.stat().st_size <= max_bytes:
                content = path.read_bytes()
                write(outdir, bytes([lockfile_selector(path.name)]) + content, written)
                write(outdir, bytes([0]) + content, written)

    # Hand-written seeds and past reproducers, committed; lockfile seeds are named by kind.
    committed = FUZZ_DIR / "seeds" / target
    for path in sorted(committed.iterdir()) if committed.is_dir() else []:
        content = path.read_bytes()
        if target == "lockfile":
            if path.name.startswith(("crash-", "timeout-", "oom-", "repro-")):
                write(outdir, content, written)
                continue
            write(outdir, bytes([lockfile_selector(path.name)]) + content, written)
            write(outdir, bytes([0]) + content, written)
        else:
            write(outdir, content, written)
    return len(written)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--max-bytes", type=int, default=131072,
                        help="cut down data files larger than this (the fuzzer's -max_len)")
    parser.add_argument("--files", type=int, default=40, help="data files sampled per target")
    args = parser.parse_args()
    count = build(args.target, args.outdir, args.max_bytes, args.files)
    print(f"{args.target}: {count} seeds in {args.outdir}")


if __name__ == "__main__":
    main()
