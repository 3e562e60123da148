#!/usr/bin/env bash
# Make sure what the tests talk to is there: PostgreSQL running, a Java runtime for Spark local mode.
set -u
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null || true
  fi
fi
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  # the browser tests (tests/e2e) drive Debian's chromium through Playwright
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true
fi
if ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1 && [ "$(id -u)" = "0" ] \
    && command -v apt-get >/dev/null 2>&1; then
  # a Chinese font for the charts of the reports (core.reports.cjk_font); 1.6 MB
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null || true
fi
# axe-core for the accessibility tests (tests/e2e/test_accessibility.py), pinned in tests/browser/package-lock.json
BROWSER_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null || true
fi
if command -v npm >/dev/null 2>&1 && [ ! -f "$BROWSER_DIR/node_modules/axe-core/axe.min.js" ]; then
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --silent) || true
fi
exit 0
