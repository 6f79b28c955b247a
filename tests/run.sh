#!/usr/bin/env bash
# Every check and test of Inlet, from a fresh clone: installs what the tests
# need (Debian's chromium and postgresql, whose servers the tests start on
# loopback; kinesalite, dynalite, playwright-core, @microsoft/signalr,
# standardwebhooks, svix and the providers' webhook packages from npm into
# tests/node_modules; cfn-lint, the SAM CLI, schemathesis, moto and the
# providers' signing libraries from PyPI into .venv), then fmt, clippy,
# cfn-lint and sam validate on template.yaml, the whole test suite, and the
# Writer API's OpenAPI contract run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests use, installed when missing.
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

step "installing Debian's chromium and postgresql for the browser and destination tests (when missing)"
apt_install chromium postgresql

step "installing the AWS API emulators, playwright-core, @microsoft/signalr and the webhook signing libraries (npm ci in tests/)"
npm ci --prefix tests --no-audit --no-fund --loglevel=error

step "installing cfn-lint, the SAM CLI, schemathesis, moto (a Secrets Manager API on loopback), the providers' signing libraries, prometheus-client and jsonschema into .venv"
python_tools=(cfn-lint==1.58.0 aws-sam-cli==1.170.0 schemathesis==4.32.5 "moto[server]==5.2.5"
  stripe==16.1.0 slack-sdk==3.47.0 twilio==9.13.0 hubspot-api-client==12.0.0 svix==2.9.1 standardwebhooks==1.1.0
  prometheus-client==0.26.0 jsonschema)
if [ ! -f .venv/tools ] || [ "$(cat .venv/tools)" != "${python_tools[*]}" ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${python_tools[@]}"
  echo "${python_tools[*]}" > .venv/tools
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "the house rules: file sizes, import cycles, thin mains, relative links (tests/house.py)"
python3 tests/house.py

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cfn-lint template.yaml, sam validate --lint"
.venv/bin/cfn-lint template.yaml
# samconfig.toml turns on the language extensions; no AWS call is made.
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .venv/bin/sam validate --lint

step "cargo test (unit, router, Lambda event, binary, and kinesalite end-to-end tests)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "\ntests: %d passed, %d failed\n", passed, failed }' "$log"

step "the Writer API against its OpenAPI document, both ways (schemathesis)"
cargo build -p inlet --locked --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bash tests/contract/run.sh "$target_dir/debug/inlet"
