#!/bin/sh
# test-ts-client: build and test the TypeScript client (clients/typescript)
# against live Affinity servers that its tests start on 127.0.0.1.
# A fresh CI machine has only Go: Debian's nodejs and npm are installed when
# node or npm is missing. Then npm ci (exact versions from package-lock.json),
# a check that the generated types are what the description gives, the
# build, and Node's built-in test runner.
# With --browser it runs the browser test instead (the built client in
# headless Chromium; make test-browser installs chromium first).
set -eu
mode=node
if [ "${1:-}" = "--browser" ]; then
	mode=browser
fi
cd "$(dirname "$0")/.."
GO=${GO:-go}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "test-ts-client: node or npm not found; installing Debian's nodejs and npm" >&2
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		SUDO="sudo"
	fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "test-ts-client: Node 18 or newer is needed, found $(node --version)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$GO" build -o "$tmp/affinity" ./cmd/affinity

cd clients/typescript
# --prefer-offline: a warm cache is used without revalidating every package.
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
npm run --silent check-generated
if [ "$mode" = browser ]; then
	AFFINITY_BIN="$tmp/affinity" npm run --silent test:browser
else
	AFFINITY_BIN="$tmp/affinity" npm test
fi
