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
node --test lambdas/edge_auth/test/*.test.js
say "pytest"
.venv/bin/pytest "$@"
