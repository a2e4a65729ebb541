#!/bin/sh
# test-browser: load the experiment report in headless Chromium and check
# that its charts are drawn (api/browser_test.go), then drive every page of
# the console against the demo data (api/console_*browser_test.go, over the
# DevTools protocol with chromedp); build tag "browser". The console's
# screenshots and page weights land in artifacts/console/.
# Installs Debian's chromium package first when no browser is found;
# CHROMIUM=/path/to/binary picks another one.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}

have_browser() {
	[ -n "${CHROMIUM:-}" ] && return 0
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

if ! have_browser; then
	echo "test-browser: chromium not found; installing Debian's chromium package" >&2
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		SUDO="sudo"
	fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi

exec "$GO" test -tags browser -count=1 -run '^(TestReportInBrowser|TestConsole.*InBrowser)$' ./api/
