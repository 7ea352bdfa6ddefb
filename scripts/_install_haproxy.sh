#!/usr/bin/env bash
# The fleet test (tests/integration/test_fleet.py) puts Debian's haproxy in front of two
# gateways (started by the test itself, on free ports). Install the package when it is
# missing; never start the system service.
set -euo pipefail
if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "haproxy is missing: install it (Debian: apt-get install haproxy) to run the fleet test" >&2
  exit 0
fi
apt-get update -qq
# policy-rc.d answers 101 ("not allowed") so the package's service is not started here.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
