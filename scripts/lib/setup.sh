# Shared set-up for scripts/*.sh: a Python venv with the project installed, and the heavy
# test tools (Chromium) installed once. Sourced, not run.
#
# Downloads are cached under $FLEETBOARD_CACHE (default ~/.cache/fleetboard) and reused when
# present, so a second run on the same machine installs nothing.

FLEETBOARD_CACHE="${FLEETBOARD_CACHE:-$HOME/.cache/fleetboard}"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$FLEETBOARD_CACHE/uv}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$FLEETBOARD_CACHE/pip}"
export npm_config_cache="${npm_config_cache:-$FLEETBOARD_CACHE/npm}"
# jsii unpacks aws-cdk-lib (~200 MB) on first use: keep it between runs.
export JSII_RUNTIME_PACKAGE_CACHE_ROOT="${JSII_RUNTIME_PACKAGE_CACHE_ROOT:-$FLEETBOARD_CACHE/jsii}"
# Node 20 works; jsii's end-of-life banner is noise in every synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# The CDK CLI stays offline and quiet: no version check, no telemetry, no notices.
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
mkdir -p "$FLEETBOARD_CACHE"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pick_python() {
  # Python 3.12 is what Lambda runs; 3.11 works too. Take the newest one here.
  local c
  for c in python3.13 python3.12 python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      echo "$c"; return 0
    fi
  done
  echo "fleetboard needs Python 3.11 or newer (python3.12 preferred); none found" >&2
  return 1
}

# ensure_venv EXTRA: .venv with the project installed editable with [EXTRA], the packages the
# Lambda ships pinned by lambdas/requirements.lock. The venv only ever grows: its stamp lists
# every extra installed ("EXTRA:HASH" a line, HASH of both files), and an extra not yet in it
# is installed together with all those already there. So switching between the scripts
# (demo: [demo]; tests and cdk: [dev]) installs nothing the second time, and a change to
# either file reinstalls every extra the venv had, not just the one asked for.
ensure_venv() {
  local extra="$1" py stamp hash extras
  hash=$(cat pyproject.toml lambdas/requirements.lock | sha256sum | cut -c1-16)
  stamp=.venv/.fleetboard-installed
  if [ -x .venv/bin/python ] && [ -f "$stamp" ] && grep -qx "$extra:$hash" "$stamp" 2>/dev/null; then
    return 0
  fi
  py=$(pick_python)
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $($py --version)"
    "$py" -m venv .venv
    rm -f "$stamp"
  fi
  local uv=(.venv/bin/python -m uv)
  if ! "${uv[@]}" --version >/dev/null 2>&1; then
    if command -v uv >/dev/null 2>&1; then
      uv=(uv)  # a .venv made by uv has no pip: use the uv on PATH
    else
      say "installing uv (fast installs)"
      .venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip -q
      .venv/bin/python -m pip install -q --disable-pip-version-check uv
    fi
  fi
  # The extras asked for now and every one installed before, each once, in a stable order.
  extras=$({ echo "$extra"; if [ -f "$stamp" ]; then cut -d: -f1 "$stamp"; fi; } | grep . | sort -u | paste -sd, -)
  say "installing fleetboard[$extras] into .venv"
  # The Lambda's lock constrains the venv too: what tests run is what ships.
  "${uv[@]}" pip install -q --python .venv/bin/python -c lambdas/requirements.lock -e ".[$extras]"
  tr , '\n' <<<"$extras" | sed "s/\$/:$hash/" > "$stamp"
}

# ensure_chromium: Debian's Chromium for the browser tests (never a test tool's own download).
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing Debian's chromium (browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null; }
}

# ensure_node_tools: the pinned Node tools of package.json, from the lockfile: the CDK CLI,
# anvil (a local EVM node: @foundry-rs/anvil ships its binary in a platform package),
# solc-js (compiles tests/contracts/ for it) and axe-core (tests/browser/ injects its
# axe.min.js into the page). npm's cache keeps the downloads between runs.
ensure_node_tools() {
  if [ -x node_modules/.bin/cdk ] && [ -x node_modules/.bin/anvil ] && [ -x node_modules/.bin/solcjs ] &&
     [ -s node_modules/axe-core/axe.min.js ] &&
     [ node_modules/.package-lock.json -nt package-lock.json ]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "fleetboard needs Node.js and npm (CDK CLI, anvil, solc-js, axe-core)" >&2; return 1; }
  say "installing the pinned Node tools: CDK CLI, anvil, solc-js, axe-core (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
}

# ensure_edge_auth_deps: the edge sign-in function's own pinned packages (cognito-at-edge, and
# esbuild for its bundle) from lambdas/edge_auth/package-lock.json, for its node --test suite.
ensure_edge_auth_deps() {
  local dir=lambdas/edge_auth
  if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "fleetboard needs Node.js and npm (the edge sign-in function)" >&2; return 1; }
  say "installing the edge sign-in function's pinned packages (npm ci in $dir)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null
}

# ensure_octokit_openapi: GitHub's published OpenAPI description (npm @octokit/openapi), which
# the github tests hold the fake GitHub's answers to. The package unpacks to ~385 MB; only its
# api.github.com.json (13 MB) is kept, in $FLEETBOARD_CACHE/octokit-openapi/<version>/.
# tests/integration/github/helpers.py pins the same version.
OCTOKIT_OPENAPI_VERSION="23.0.2"
ensure_octokit_openapi() {
  local dir="$FLEETBOARD_CACHE/octokit-openapi/$OCTOKIT_OPENAPI_VERSION" tmp
  if [ -s "$dir/api.github.com.json" ]; then return 0; fi
  command -v npm >/dev/null 2>&1 || { echo "fleetboard needs Node.js and npm (for GitHub's OpenAPI description)" >&2; return 1; }
  say "fetching GitHub's OpenAPI description (@octokit/openapi $OCTOKIT_OPENAPI_VERSION)"
  tmp=$(mktemp -d "$FLEETBOARD_CACHE/octokit-openapi.XXXXXX")
  if ! npm install --prefix "$tmp" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
       --loglevel=error "@octokit/openapi@$OCTOKIT_OPENAPI_VERSION" >/dev/null; then
    rm -rf "$tmp"; return 1
  fi
  mkdir -p "$dir"
  mv "$tmp/node_modules/@octokit/openapi/generated/api.github.com.json" "$dir/api.github.com.json"
  rm -rf "$tmp"
}
