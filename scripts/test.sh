#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (Python packages,
# Debian's Chromium), then lint, types, and every test. CI runs exactly this (.ci/run).
# Arguments go to pytest (e.g. -k rules).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_venv dev
ensure_chromium
ensure_node_tools
ensure_edge_auth_deps
ensure_octokit_openapi
say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
say "mypy --strict"
.venv/bin/mypy
say "node --test (edge auth)"
# The shell expands the glob: Node 21+ no longer walks a directory given to --test.
# The tests get a TMPDIR of their own, which must be empty after them: nothing outlives.
node_tmp="$(mktemp -d -t fleetboard-node-tests-XXXXXX)"
TMPDIR="$node_tmp" node --test lambdas/edge_auth/test/*.test.js
if [ -n "$(ls -A "$node_tmp")" ]; then
  echo "node tests left these behind: $(ls -A "$node_tmp")" >&2
  rm -rf "$node_tmp"
  exit 1
fi
rmdir "$node_tmp"
say "pytest"
.venv/bin/pytest "$@"
