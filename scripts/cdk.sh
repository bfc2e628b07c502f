#!/usr/bin/env bash
# The CDK CLI, pinned, offline and quiet, with the project's venv: `./scripts/cdk.sh synth`,
# `./scripts/cdk.sh deploy --all`. Installs what it needs on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_venv dev
ensure_node_tools
ensure_edge_auth_deps  # the sign-in function is bundled at synth (stage 2)
exec node_modules/.bin/cdk "$@"
