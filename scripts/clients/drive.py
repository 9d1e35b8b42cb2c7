#!/usr/bin/env python3
"""Drives a running Rampart with the Python client generated from its OpenAPI document.

Seed 002 promises SDKs that handle authentication, retries and pagination; this is that
client doing each against the real server, the way a user would write it:

  1. authentication: an API key as `Authorization: Bearer` (`AuthenticatedClient`); `me`
     names the key, and a wrong key is refused with the typed `invalid_api_key` error;
  2. a product, a release, and an SBOM uploaded to it twice: as a JSON document and as the
     file's bytes (`application/octet-stream`), both analysed at once (`wait=true`);
  3. pagination: the release's findings read page by page (`page`, `per_page`, `total`);
  4. the rate limit: a second key (the server runs with a tiny per-minute limit) is used
     until the server answers 429; its typed `rate_limited` body and `Retry-After` are read
     and checked against `X-RateLimit-Reset`; then a client that retries on 429 (an httpx
     transport honouring `Retry-After`) waits and gets through.

Usage (the client generated with `openapi-python-client generate --meta none` into
CLIENT_DIR/rampart_client):

  RAMPART_API_KEY=rk_live_… RAMPART_RATE_LIMITED_KEY=rk_live_… \\
    python drive.py --base-url http://127.0.0.1:8080 --client CLIENT_DIR --sbom sbom.spdx.json

Prints one JSON object on stdout (what was created, the findings read, the 429 seen). Any
mismatch exits 1 with a line on stderr saying what differed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx


class Mismatch(Exception):
    """The server (or the generated client) did not do what the driver expected."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Mismatch(what)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(int(value)))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class RetryOn429(httpx.HTTPTransport):
    """Retries a request refused with 429, after the `Retry-After` the server sent.

    The generated client has no retry policy of its own; it takes any httpx transport
    (`httpx_args={"transport": …}`), and this one is the whole retry policy: at most
    `attempts` tries, never waiting longer than `max_wait` seconds at once.
    """

    def __init__(self, attempts: int = 3, max_wait: float = 60.0) -> None:
        super().__init__(retries=2)  # connection failures, before any answer
        self.attempts = attempts
        self.max_wait = max_wait
        self.waited: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(1, self.attempts + 1):
            response = super().handle_request(request)
            if response.status_code != 429 or attempt == self.attempts:
                return response
            wait = retry_after_seconds(response)
            if wait is None or wait > self.max_wait:
                return response
            response.close()
            self.waited.append(wait)
            # Past the window's end by a little, so the retry lands in the next window.
            time.sleep(wait + 0.5)
        raise AssertionError("unreachable")


def error_code(parsed: object) -> str | None:
    from rampart_client.models import ErrorBody

    return parsed.error.code if isinstance(parsed, ErrorBody) else None


def authentication(client, bogus_client) -> dict:
    from rampart_client.api.identity import me
    from rampart_client.models import MeResponse

    response = me.sync_detailed(client=client)
    expect(response.status_code == 200, f"me: {response.status_code} {response.content!r}")
    expect(isinstance(response.parsed, MeResponse), f"me: parsed as {type(response.parsed)}")
    credential = response.parsed.credential
    expect(credential.type_ == "api_key", f"me: credential type {credential.type_}")
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id"):
        expect(header in response.headers, f"me: no {header} header")

    refused = me.sync_detailed(client=bogus_client)
    expect(refused.status_code == 401, f"a wrong key: {refused.status_code}")
    expect(
        error_code(refused.parsed) == "invalid_api_key",
        f"a wrong key: parsed {refused.parsed!r}",
    )
    return {
        "key_name": credential.name,
        "team": response.parsed.team.name,
        "scopes": credential.scopes,
        "wrong_key": error_code(refused.parsed),
    }


def product_and_releases(client, run: str) -> tuple[int, list[int]]:
    from rampart_client.api.products import create_product
    from rampart_client.api.releases import create_release
    from rampart_client.models import CreateProduct, CreateRelease, ProductBody, ReleaseBody

    created = create_product.sync_detailed(
        client=client,
        body=CreateProduct(name=f"clients-{run}", description="made by the generated Python client", tags=["sdk"]),
    )
    expect(created.status_code == 201, f"create product: {created.status_code} {created.content!r}")
    expect(isinstance(created.parsed, ProductBody), f"create product: parsed {created.parsed!r}")
    product_id = created.parsed.id
    releases = []
    for version in ("1.0.0", "1.0.1"):
        release = create_release.sync_detailed(product_id, client=client, body=CreateRelease(version=version))
        expect(release.status_code == 201, f"create release {version}: {release.status_code} {release.content!r}")
        expect(isinstance(release.parsed, ReleaseBody), f"create release: parsed {release.parsed!r}")
        expect(release.parsed.version == version, f"release version {release.parsed.version}")
        releases.append(release.parsed.id)
    return product_id, releases


def upload(client, release_id: int, sbom: Path, as_bytes: bool) -> dict:
    from rampart_client.api.sboms import upload_sbom
    from rampart_client.models import UploadResponse, UploadSbomJsonBody
    from rampart_client.types import File

    if as_bytes:
        body = File(payload=sbom.read_bytes(), file_name=sbom.name, mime_type="application/octet-stream")
    else:
        body = UploadSbomJsonBody.from_dict(json.loads(sbom.read_text()))
    response = upload_sbom.sync_detailed(release_id, client=client, body=body, wait=True)
    expect(response.status_code == 201, f"upload ({'bytes' if as_bytes else 'JSON'}): {response.status_code} {response.content!r}")
    expect(isinstance(response.parsed, UploadResponse), f"upload: parsed {response.parsed!r}")
    analysis = response.parsed.analysis
    expect(analysis.status == "completed", f"upload: analysis {analysis.status} ({analysis.error})")
    return {
        "sbom_id": response.parsed.sbom.id,
        "document_format": response.parsed.sbom.document_format,
        "content_type": response.parsed.sbom.content_type,
        "components": analysis.component_count,
        "findings_count": analysis.findings_count,
    }


def all_findings(client, release_id: int, per_page: int) -> tuple[list[dict], int]:
    """Every finding of the release, read page by page; and the number of pages."""
    from rampart_client.api.findings import release_vulnerabilities
    from rampart_client.models import PaginatedFindingBody

    findings: list[dict] = []
    total = None
    page = 1
    while True:
        response = release_vulnerabilities.sync_detailed(release_id, client=client, page=page, per_page=per_page)
        expect(response.status_code == 200, f"findings page {page}: {response.status_code} {response.content!r}")
        parsed = response.parsed
        expect(isinstance(parsed, PaginatedFindingBody), f"findings page {page}: parsed {parsed!r}")
        expect(parsed.page == page and parsed.per_page == per_page, f"findings page {page}: answered page {parsed.page} of {parsed.per_page}")
        expect(total is None or parsed.total == total, f"findings: total changed from {total} to {parsed.total}")
        total = parsed.total
        expect(len(parsed.items) <= per_page, f"findings page {page}: {len(parsed.items)} items")
        for item in parsed.items:
            expect(item.release_id == release_id, f"finding {item.id} of release {item.release_id}")
            findings.append({"id": item.id, "purl": item.component.purl, "vulnerability": item.vulnerability.id})
        if len(findings) >= total or not parsed.items:
            break
        expect(len(parsed.items) == per_page, f"findings page {page}: a short page before the last")
        page += 1
    ids = [f["id"] for f in findings]
    expect(len(ids) == len(set(ids)), f"findings: a finding on two pages: {ids}")
    expect(len(findings) == total, f"findings: read {len(findings)}, total {total}")
    return findings, page


def rate_limit(base_url: str, key: str, max_wait: float) -> dict:
    from rampart_client import AuthenticatedClient
    from rampart_client.api.identity import me

    plain = AuthenticatedClient(base_url=base_url, token=key)
    limit = None
    used = 0
    refused = None
    # A fresh minute can start in between: at most two windows' worth before a 429.
    while refused is None:
        response = me.sync_detailed(client=plain)
        used += 1
        if response.status_code == 429:
            refused = response
            break
        expect(response.status_code == 200, f"me: {response.status_code}")
        limit = int(response.headers["X-RateLimit-Limit"])
        expect(used <= 2 * limit + 1, f"no 429 after {used} requests with a limit of {limit}")
    expect(limit is not None, "a 429 before any answer")
    expect(error_code(refused.parsed) == "rate_limited", f"429 parsed as {refused.parsed!r}")
    retry_after = refused.headers.get("Retry-After")
    expect(retry_after is not None and retry_after.isdigit(), f"429 Retry-After {retry_after!r}")
    retry_after = int(retry_after)
    expect(1 <= retry_after <= 60, f"Retry-After {retry_after} outside a minute's window")
    reset = int(refused.headers["X-RateLimit-Reset"])
    expect(refused.headers["X-RateLimit-Remaining"] == "0", "429 with requests remaining")
    expect(int(refused.headers["X-RateLimit-Limit"]) == limit, "the limit changed")
    expect(abs((reset - time.time()) - retry_after) <= 2, f"Retry-After {retry_after} but reset at {reset} (now {time.time():.0f})")

    # A client that retries: the same call waits out the window and succeeds.
    transport = RetryOn429(attempts=3, max_wait=max_wait)
    retrying = AuthenticatedClient(base_url=base_url, token=key, httpx_args={"transport": transport})
    started = time.monotonic()
    after = me.sync_detailed(client=retrying)
    expect(after.status_code == 200, f"after waiting Retry-After: {after.status_code} (waited {transport.waited})")
    expect(len(transport.waited) >= 1, "the retrying client was not refused first")
    return {
        "limit": limit,
        "requests_before_429": used - 1,
        "retry_after": retry_after,
        "message": refused.parsed.error.message,
        "retried_after_seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client", required=True, type=Path, help="directory holding the generated rampart_client package")
    parser.add_argument("--sbom", required=True, type=Path)
    parser.add_argument("--per-page", type=int, default=2)
    parser.add_argument("--max-retry-wait", type=float, default=60.0)
    args = parser.parse_args()
    key = os.environ.get("RAMPART_API_KEY")
    limited_key = os.environ.get("RAMPART_RATE_LIMITED_KEY")
    if not key or not limited_key:
        print("drive.py: set RAMPART_API_KEY and RAMPART_RATE_LIMITED_KEY", file=sys.stderr)
        return 2
    sys.path.insert(0, str(args.client))
    from rampart_client import AuthenticatedClient

    client = AuthenticatedClient(base_url=args.base_url, token=key, httpx_args={"transport": RetryOn429()})
    bogus = AuthenticatedClient(base_url=args.base_url, token="rk_live_" + "0" * 64)
    try:
        summary: dict = {"authentication": authentication(client, bogus)}
        product_id, releases = product_and_releases(client, str(int(time.time())))
        summary["product_id"] = product_id
        summary["releases"] = []
        for release_id, as_bytes in zip(releases, (False, True)):
            uploaded = upload(client, release_id, args.sbom, as_bytes)
            findings, pages = all_findings(client, release_id, args.per_page)
            expect(
                uploaded["findings_count"] == len(findings),
                f"release {release_id}: the analysis counted {uploaded['findings_count']} findings, the pages hold {len(findings)}",
            )
            summary["releases"].append(
                {"id": release_id, "upload": uploaded, "pages": pages, "findings": findings}
            )
        first, second = (
            sorted((f["purl"], f["vulnerability"]) for f in r["findings"]) for r in summary["releases"]
        )
        expect(first == second, f"the JSON and the bytes upload found different things: {first} / {second}")
        summary["rate_limit"] = rate_limit(args.base_url, limited_key, args.max_retry_wait)
    except Mismatch as mismatch:
        print(f"drive.py: MISMATCH: {mismatch}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
