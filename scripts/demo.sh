#!/usr/bin/env bash
# The demo, end to end, on a fresh machine: install into .venv, start a simulated fleet on
# 127.0.0.1 (moto, real HTTPS hosts, an anvil chain with the fleet's contracts), collect it,
# and serve the board. Ctrl-C (or SIGTERM) stops it at any point, startup included: anvil and
# the servers are stopped and its temp folder removed. Without Node.js it runs without a chain.
# Arguments go to `fleetboard demo` (e.g. --once --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_venv demo
ensure_node_tools || say "no Node tools: the demo's chain part will say \"not configured\""
exec .venv/bin/fleetboard demo "$@"
