#!/usr/bin/env bash
# The limit tests run a real redis-server (started by the tests themselves, on a free
# port in a temp dir). Install Debian's package when it is missing; never start the
# system service.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "redis-server is missing: install it (Debian: apt-get install redis-server) to run the limit tests" >&2
  exit 0
fi
apt-get update -qq
# policy-rc.d answers 101 ("not allowed") so the package's service is not started here.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
