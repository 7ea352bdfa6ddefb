#!/usr/bin/env bash
# The end-to-end Codex test drives the real Codex CLI; install it (and Node.js if the
# machine has none) into .cache/, outside the repository's tracked files. npm pulls the
# native binary as an optional dependency (@openai/codex-linux-x64 is an alias of
# @openai/codex@VERSION-linux-x64), so "installed" means `codex --version` answers.
set -euo pipefail
CODEX_VERSION="0.171.0"
prefix=".cache/codex"
codex="$prefix/node_modules/.bin/codex"
if [ -x "$codex" ] && "$codex" --version 2>/dev/null | grep -qx "codex-cli $CODEX_VERSION"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm is missing: install Node.js to run the Codex test" >&2
    exit 0
  fi
fi
mkdir -p "$prefix"
# --include=optional: an npm configured to omit optional dependencies would leave the
# JavaScript launcher without the native binary it starts.
npm install --silent --no-audit --no-fund --include=optional --prefix "$prefix" \
  "@openai/codex@$CODEX_VERSION" >/dev/null
"$codex" --version >/dev/null
