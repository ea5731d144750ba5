#!/usr/bin/env bash
# `make up-local` / `make down-local`: the `local` stack (config/Pulumi.local.yaml) in a moto
# server on 127.0.0.1, with Pulumi state in .pulumi-state/ (git-ignored).
#   up:   start moto, create/select the stack, `pulumi up` gated by the policy pack
#   down: `pulumi destroy`, then stop moto
set -euo pipefail

if ! command -v pulumi >/dev/null 2>&1; then
  echo "tools/local_stack.sh needs the Pulumi CLI: install it with 'curl -fsSL https://get.pulumi.com | sh' (see https://www.pulumi.com/docs/install/)" >&2
  exit 1
fi

usage() {
  echo "usage: bash tools/local_stack.sh up|down" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage

cd "$(dirname "${BASH_SOURCE[0]}")/.."
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
