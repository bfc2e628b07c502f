#!/usr/bin/env bash
# The demo, end to end, on a fresh machine: install into .venv, start a simulated fleet on
# 127.0.0.1 (moto, real HTTPS hosts), collect it, and serve the board. Ctrl-C stops it.
# Arguments go to `fleetboard demo` (e.g. --once --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_venv demo
exec .venv/bin/fleetboard demo "$@"
