#!/usr/bin/env bash
# `make up-local` / `make down-local`: the `local` stack (config/Pulumi.local.yaml) in a moto
# server on 127.0.0.1, with Pulumi state in .pulumi-state/ (git-ignored).
#   up:   start moto, create/select the stack, `pulumi up` gated by the policy pack
#   down: `pulumi destroy`, then stop moto
# It uses the `pulumi` on PATH with the real aws provider when there is one; otherwise the CLI
# that `make pulumi-cli` builds and the rehearsal stand-in for the aws provider, in .tools/bin/.
set -euo pipefail

usage() {
  echo "usage: bash tools/local_stack.sh up|down" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage

# Builtins only until a Pulumi CLI is found: PATH may hold nothing else.
script_dir=.
[[ "${BASH_SOURCE[0]}" == */* ]] && script_dir="${BASH_SOURCE[0]%/*}"
cd "$script_dir/.."
readonly TOOLS_BIN="$PWD/.tools/bin"
installed_pulumi="$(command -v pulumi || true)"
path_provider="$(command -v pulumi-resource-aws || true)"
if [[ -n "$installed_pulumi" && "$installed_pulumi" != "$TOOLS_BIN/"* && "$path_provider" != "$TOOLS_BIN/"* ]]; then
  echo "tools/local_stack.sh: using the Pulumi CLI at $installed_pulumi with the real aws provider (pulumi-aws)"
elif [[ -x "$TOOLS_BIN/pulumi" && -x "$TOOLS_BIN/pulumi-resource-aws" ]]; then
  echo "tools/local_stack.sh: REHEARSAL: no Pulumi CLI on PATH, so using $TOOLS_BIN/pulumi" \
    "(make pulumi-cli) with the rehearsal stand-in for the aws provider, NOT pulumi-aws (make rehearsal-provider)"
  # .tools/bin first: the engine takes the stand-in from PATH and never downloads a plugin.
  export PATH="$TOOLS_BIN:$PATH"
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
else
  echo "tools/local_stack.sh needs the Pulumi CLI: install it with 'curl -fsSL https://get.pulumi.com | sh'" \
    "(see https://www.pulumi.com/docs/install/), or rehearse without it: make pulumi-cli rehearsal-provider" >&2
  exit 1
fi

readonly STACK=local
readonly STATE_DIR="$PWD/.pulumi-state"
readonly PYTHON="$PWD/venv/bin/python"
[[ -x "$PYTHON" ]] || { echo "venv/ is missing: run 'make up-local', which creates it" >&2; exit 1; }
mkdir -p "$STATE_DIR"

# State in the project, not in the user's Pulumi login or Pulumi Cloud.
export PULUMI_BACKEND_URL="file://$STATE_DIR"
export PULUMI_SKIP_UPDATE_CHECK=true
# The local state holds only emulator data, so a fixed passphrase is acceptable here; a
# passphrase (or passphrase file) already in the environment wins.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE+set}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE=local-emulator-only
fi
# moto accepts any keys. Dummy ones here (never in config), and no profile or session token
# that could lead the provider to real credentials.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
# The policy pack runs on venv/'s python, which has pulumi-policy.
export PATH="$PWD/venv/bin:$PATH"

start_emulator() {
  "$PYTHON" -m tools.moto_local start --state-dir "$STATE_DIR"
}

case "$1" in
  up)
    start_emulator
    pulumi stack select --create "$STACK" --secrets-provider passphrase
    pulumi up --stack "$STACK" --yes \
      --policy-pack policies --policy-pack-config "policies/config/$STACK.json"
    ;;
  down)
    # destroy needs the emulator running; after a restart it is empty, and the provider treats
    # most resources already gone as deleted (else: pulumi stack rm --force local).
    start_emulator
    pulumi destroy --stack "$STACK" --yes
    "$PYTHON" -m tools.moto_local stop --state-dir "$STATE_DIR"
    ;;
  *)
    usage
    ;;
esac
