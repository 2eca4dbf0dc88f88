#!/usr/bin/env bash
# The all-in-one demo on embedded defaults (SQLite, built-in simulators, loopback only):
# `drimbox demo` generates the ANS data set under <data dir>/demo/ans if missing, runs the PACS
# and IdP simulators and the DRIMbox Source, sends three reports and prints commands to try.
# Usage: scripts/demo.sh [DATA_DIR] [drimbox demo options…]   (see docs/demo.md)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="${1:-${DRIMBOX_DATA_DIR:-var}}"
shift || true
mkdir -p "$DATA_DIR"
export DRIMBOX_DATA_DIR="$DATA_DIR"
exec .venv/bin/drimbox demo "$@"
