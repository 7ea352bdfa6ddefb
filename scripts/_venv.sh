# Shared by scripts/start and scripts/test: create .venv and install a requirements
# file when it changed since the last install (a stamp holds its hash). Says what it
# does: a first install takes a minute or two, and silence looked like a hang.

_stamp_current() {
  [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

ensure_venv() {
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    echo "vandamme: creating .venv with $(python3 --version)"
    python3 -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  local hash
  hash=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  # requirements-dev.txt starts with `-r requirements.txt`: its current stamp covers both.
  if _stamp_current "$stamp" "$hash" || _stamp_current .venv/.installed-requirements-dev.txt "$hash"; then
    return 0
  fi
  local started=$SECONDS
  echo "vandamme: installing $requirements into .venv (the first time takes a minute or two)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  # pip's own lines (Collecting…, Installing collected packages…) are the progress.
  # Its errors go to stderr, unfiltered; with the callers' pipefail, pip's status decides.
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -r "$requirements" \
    | { grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true; }
  echo "$hash" > "$stamp"
  echo "vandamme: installed in $((SECONDS - started)) s"
}
