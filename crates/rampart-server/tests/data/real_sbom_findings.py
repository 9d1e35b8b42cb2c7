"""Computes the findings expected for the real SBOMs of real_sboms.rs, independently of
Rampart: its own purl reading, its own SemVer 2.0 precedence (every range here is SEMVER,
or crates.io ECOSYSTEM, which is SemVer), and the OSV schema's evaluation as osv.dev runs it
(events stably sorted by version, walked without early exit, `versions` listed first).
Run once (Python 3.11, standard library only); its output was checked by hand against the
records and committed as real_sbom_findings.tsv.
Usage: python3 real_sbom_findings.py ../shared/data"""
import json
import os
import re
import sys
from urllib.parse import unquote

ROOT = sys.argv[1]
# RustSec's OSV export, the GHSA advisories of the OSV schema's converter tests, and the Go
# record among the OSV linter's samples (the others there are broken on purpose).
CORPORA = ["rustsec-advisory-db/osv/crates", "peer-tests/osv-schema/tools/ghsa/testdata"]
FILES = ["peer-tests/osv-schema/tools/osv-linter/testdata/GO-2020-0001.json"]
SBOMS = [
    "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.6.3.bom.json",
    "cyclonedx-bom-examples/SBOM/juice-shop/v11.1.2/bom.json",
    "cyclonedx-bom-examples/SBOM/proton-bridge/proton-bridge-v1.8.0.bom.xml",
    "spdx-examples/software/example11/spdx2.3/sbom.spdx.json",
    "spdx-examples/_spdx-spec-2.3.1/examples/SPDXTagExample-v2.3.spdx",
]


def semver_key(text):
    text = text.lstrip("v").split("+")[0]
    core, _, pre = text.partition("-")
    numbers = [int(n) for n in core.split(".")]
    numbers += [0] * (3 - len(numbers))
    # A release sorts after all its pre-releases; identifiers: numbers before words.
    pre_key = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")] if pre else None
    return (numbers, pre_key is None, pre_key or [])


def affected(version, entry):
    if version in entry.get("versions", []):
        return True
    for r in entry.get("ranges", []):
        if r["type"] not in ("SEMVER", "ECOSYSTEM"):
            continue
        events = [(kind, value) for e in r["events"] for kind, value in e.items()]
        limits = [v for k, v in events if k == "limit"]
        v = semver_key(version)
        if limits and not any("*" in l or v < semver_key(l) for l in limits):
            continue
        zero = [(k, x) for k, x in events if k == "introduced" and x == "0"]
        rest = sorted([(k, x) for k, x in events if k != "limit" and (k, x) not in zero],
                      key=lambda e: semver_key(e[1]))
        vulnerable = False
        for kind, at in zero + rest:
            if kind == "introduced" and (at == "0" or v >= semver_key(at)):
                vulnerable = True
            elif kind == "fixed" and v >= semver_key(at):
                vulnerable = False
            elif kind == "last_affected" and v > semver_key(at):
                vulnerable = False
        if vulnerable:
            return True
    return False


def package_of(purl):
    kind, rest = purl[4:].split("/", 1)
    rest, _, version = rest.partition("@")
    version = version.split("?")[0].split("#")[0]
    rest = unquote(rest)
    ecosystem = {"cargo": "crates.io", "golang": "Go", "npm": "npm", "maven": "Maven",
                 "pypi": "PyPI"}.get(kind)
    name = rest.replace("/", ":") if kind == "maven" else rest
    return ecosystem, name, unquote(version)


def purls(path):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    if path.endswith(".spdx"):
        return re.findall(r"^ExternalRef: PACKAGE[-_]MANAGER purl (\S+)", text, re.M)
    if path.endswith(".xml"):
        return re.findall(r"<purl>([^<]+)</purl>", text)
    document = json.loads(text)
    if "packages" in document:
        return [r["referenceLocator"] for p in document["packages"]
                for r in p.get("externalRefs", []) if r["referenceType"] == "purl"]
    found = []
    stack = list(document.get("components", []))
    while stack:
        component = stack.pop()
        stack.extend(component.get("components", []))
        if component.get("purl"):
            found.append(component["purl"])
    return found


paths = [os.path.join(corpus, name) for corpus in CORPORA
         for name in os.listdir(os.path.join(ROOT, corpus))
         if name.endswith(".osv.json") or (name.endswith(".json") and "ghsa" not in corpus)]
records = [json.load(open(os.path.join(ROOT, path))) for path in sorted(paths) + FILES]

for sbom in SBOMS:
    for purl in sorted(set(purls(sbom))):
        ecosystem, name, version = package_of(purl)
        for record in records:
            if any(e["package"]["ecosystem"] == ecosystem and e["package"]["name"] == name
                   and affected(version, e) for e in record.get("affected", [])):
                print(f"{sbom}\t{purl}\t{record['id']}")
