#!/usr/bin/env bash
# The end-to-end test drives the real Claude Code CLI; install it (and Node.js if the
# machine has none) into .cache/, outside the repository's tracked files.
set -euo pipefail
CLAUDE_CODE_VERSION="2.1.328"
prefix=".cache/claude-code"
if [ -x "$prefix/node_modules/.bin/claude" ] && grep -q "\"version\": \"$CLAUDE_CODE_VERSION\"" \
    "$prefix/node_modules/@anthropic-ai/claude-code/package.json" 2>/dev/null; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "npm is missing: install Node.js to run the Claude Code test" >&2
    exit 0
  fi
fi
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
