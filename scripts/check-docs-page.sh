#!/usr/bin/env bash
# Check that the API reference page at BASE_URL/docs renders every expected operation.
#
# Usage: scripts/check-docs-page.sh BASE_URL EXPECTED...
#   BASE_URL   server root, e.g. http://127.0.0.1:8080
#   EXPECTED   an operation path as written in the OpenAPI document (e.g. /api/v1/sboms/{sbom_id});
#              it must appear as <code class="path">…</code> in the rendered DOM.
#              An argument starting with '#' (e.g. '#invalid_api_key') instead requires an element with
#              that id (error codes, operationIds).
#
# Runs headless Chromium (set CHROMIUM to override the binary; set DOCS_CHECK_TIMEOUT, default 60 s),
# dumps the DOM after the page's scripts ran, and exits 1 naming every missing entry, 2 on usage or
# browser errors. Set KEEP_DOM=path to keep the dumped DOM.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BASE_URL EXPECTED_PATH..." >&2
  exit 2
fi
base=${1%/}
shift

browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
  for b in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
  done
fi
if [[ -z $browser ]]; then
  echo "check-docs-page: no chromium found (install Debian's 'chromium' or set CHROMIUM)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dom=$work/dom.html

url="$base/docs"
if ! timeout "${DOCS_CHECK_TIMEOUT:-60}" "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --virtual-time-budget=5000 --dump-dom "$url" >"$dom" 2>"$work/stderr"; then
  echo "check-docs-page: $browser failed on $url; last stderr lines:" >&2
  tail -n 20 "$work/stderr" >&2
  exit 2
fi
if [[ -n ${KEEP_DOM:-} ]]; then cp "$dom" "$KEEP_DOM"; fi

if [[ ! -s $dom ]]; then
  echo "check-docs-page: empty DOM from $url" >&2
  exit 2
fi

# HTML-escape the way the DOM serializer does for text nodes.
escape() {
  local s=$1
  s=${s//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  printf '%s' "$s"
}

missing=()
for want in "$@"; do
  if [[ $want == \#* ]]; then
    id=$(escape "${want#\#}")
    id=${id//\"/&quot;}
    needle="id=\"$id\""
  else
    needle="<code class=\"path\">$(escape "$want")</code>"
  fi
  if ! grep -qF -- "$needle" "$dom"; then missing+=("$want"); fi
done

ops=$(grep -oF 'class="op"' "$dom" | wc -l | tr -d ' ')
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "check-docs-page: $url rendered $ops operations but is missing ${#missing[@]} of $#:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  if grep -qF 'role="alert"' "$dom"; then
    echo "  (the page shows its load-failure message: is /api/v1/openapi.json served?)" >&2
  fi
  exit 1
fi
echo "check-docs-page: OK: $url rendered $ops operations; all $# expected entries present"
