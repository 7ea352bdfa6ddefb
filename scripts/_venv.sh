# Shared by scripts/start and scripts/test: create .venv and install a requirements
# file when it changed since the last install (a stamp holds its hash).
ensure_venv() {
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  local hash
  hash=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    echo "$hash" > "$stamp"
  fi
}
