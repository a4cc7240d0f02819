#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what it needs, then runs unit, integration
# (SQLite and PostgreSQL) and browser (headless Chromium) tests. With CI=true nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# WeasyPrint renders the PDFs through Pango.
ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
# ... and subsets the embedded fonts with HarfBuzz (without it, it warns and embeds whole CJK fonts).
ldconfig -p 2>/dev/null | grep -q "libharfbuzz-subset.so.0" || missing+=(libharfbuzz-subset0)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "== starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
echo "== installing Python packages"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
# Every dependency pinned with its hashes (gmp_complaints/release/requirements-test.lock, pip-compile); then the product itself.
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r gmp_complaints/release/requirements-test.lock
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .

# axe-core (npm registry) for the accessibility checks of the browser tests.
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
  echo "== installing axe-core"
  mkdir -p .cache/axe
  (cd .cache/axe && npm install --silent --no-audit --no-fund --no-save axe-core@4.14.1 >/dev/null)
fi

echo "== running the tests"
# On every core (pytest-xdist), each test module on one worker: its module-wide fixtures are made once.
# Arguments given here come after, so `-n 0` runs in this process.
exec .venv/bin/python -m pytest -n auto --dist loadscope "$@"
