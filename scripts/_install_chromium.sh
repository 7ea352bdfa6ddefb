#!/usr/bin/env bash
# The dashboard's browser test drives Debian's Chromium through Playwright (never a
# browser download): install chromium and its driver when they are missing.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: apt-get install chromium chromium-driver to run the browser test" >&2
  exit 0
fi
apt-get update -qq
# A font, or the screenshot's text is boxes; no recommends (printing, avahi, …).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-liberation >/dev/null
