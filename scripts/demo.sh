#!/usr/bin/env bash
# The all-in-one demo on embedded defaults (SQLite, built-in simulators, loopback only).
# Today it runs the PACS simulator loaded with the ANS homologation exams; the Source, the
# Consumer and the viewer join it as they are built.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_DIR="${1:-var/demo}"
BIN=.venv/bin
mkdir -p "$DEMO_DIR"
export DRIMBOX_DATA_DIR="$DEMO_DIR"

if [ ! -f "$DEMO_DIR/ans/manifest.json" ]; then
  "$BIN/drimbox" kit dataset generate --profile ans --out "$DEMO_DIR/ans"
fi
"$BIN/drimbox" db upgrade
"$BIN/drimbox" kit pacs load --aet PACS_SOURCE_1 "$DEMO_DIR/ans"
exec "$BIN/drimbox" kit pacs serve --host 127.0.0.1 --port "${DRIMBOX_DEMO_PACS_PORT:-11120}"
