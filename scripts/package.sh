#!/usr/bin/env bash
# Package every stage with osls (no AWS access needed) and cfn-lint the CloudFormation templates.
#
#   bash scripts/package.sh            # dev, staging, prod + the ElastiCache (VPC) variant
#   STAGES="dev" REGION=us-east-1 bash scripts/package.sh
#
# Output: build/serverless/<stage>/ (zip + templates). Not .serverless/<stage>: osls copies
# .serverless/ into the --package directory, which must therefore live outside it.
# Fails on any packaging error and on any cfn-lint error or warning (W3005 excepted: osls itself
# emits a redundant DependsOn on the HTTP API route).
#
# Needs: npm (Node >= 18) and, the first time, the network: npm ci fetches osls and the requirements
# plugin (~220 packages) from the npm registry into npm's cache (~/.npm), and pip fetches the Lambda's
# arm64 wheels from PyPI into serverless-python-requirements' cache
# (~/.cache/serverless-python-requirements, keyed by requirements.txt). Once those caches are
# filled it runs without the network: npm ci --prefer-offline takes everything from the cache, and a
# node_modules that already matches package-lock.json is kept as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

STAGES="${STAGES:-dev staging prod}"
REGION="${REGION:-eu-west-1}"  # must be the region the artifacts will be deployed to
OUT="${PACKAGE_OUT:-build/serverless}"
CFN_LINT="${CFN_LINT:-.venv/bin/cfn-lint}"
# serverless-python-requirements runs "$PYTHON_BIN -m pip install --platform ... --python-version
# 3.12 --only-binary=:all:": pip only downloads the Lambda's arm64/cp312 wheels, so any python >= 3.9
# with pip will do; the project's virtualenv by default.
if [[ -z "${PYTHON_BIN:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON_BIN="$PWD/.venv/bin/python"; else PYTHON_BIN="$(command -v python3)"; fi
fi
export PYTHON_BIN

# The zip carries bytecode compiled by the Lambda runtime's own Python version (serverless.yml's
# provider.runtime; scripts/lambda_package.py, called by ./scripts/serverless-bytecode.js while osls
# packages). PYTHON_RUNTIME_BIN, else python3.X on the PATH, else a pyenv-installed 3.X.
RUNTIME=$(sed -n 's/^  runtime: \(python[0-9.]*\).*/\1/p' serverless.yml)
runtime_version=${RUNTIME#python}
is_runtime_python() {
  [[ -n "$1" ]] && "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$runtime_version'.split('.'))))" 2>/dev/null
}
if ! is_runtime_python "${PYTHON_RUNTIME_BIN:-}"; then
  PYTHON_RUNTIME_BIN=""
  candidates=("$(command -v "$RUNTIME" || true)")
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/"$runtime_version".*/bin/"$RUNTIME")
  fi
  for candidate in "${candidates[@]}"; do
    if is_runtime_python "$candidate"; then PYTHON_RUNTIME_BIN=$candidate; break; fi
  done
fi
if [[ -z "$PYTHON_RUNTIME_BIN" ]]; then
  echo "no $RUNTIME interpreter found to compile the package's bytecode: install Python $runtime_version" \
    "(e.g. actions/setup-python, pyenv, apt) or set PYTHON_RUNTIME_BIN" >&2
  exit 1
fi
export PYTHON_RUNTIME_BIN
echo "== bytecode for $RUNTIME compiled by $PYTHON_RUNTIME_BIN ($("$PYTHON_RUNTIME_BIN" -V 2>&1))"

# Packaging needs no credentials (no ${ssm:} / ${cf:} variables), but the AWS SDK inside osls looks
# for some; give it obviously fake ones so it never picks up a real profile by accident.
export AWS_ACCESS_KEY_ID=dummy AWS_SECRET_ACCESS_KEY=dummy AWS_SESSION_TOKEN=dummy
unset AWS_PROFILE
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*'
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

started=$(date +%s)
"$PYTHON_BIN" scripts/lock_requirements.py --check

# npm ci with progress lines (never minutes of silence on a slow network): a count of registry
# requests every 50 (and how many the npm cache answered), a heartbeat every 20 s, npm's own summary.
npm_ci() {
  local t0 ticker rc=0
  t0=$(date +%s)
  ( while sleep 20; do echo "   ... npm ci still running ($(( $(date +%s) - t0 )) s)"; done ) &
  ticker=$!
  npm ci --no-audit --no-fund --prefer-offline --loglevel=http 2>&1 | awk '
    /http fetch/ {
      n++; if ($0 ~ /\(cache (hit|stale|revalidated)\)/) cached++
      if (n % 50 == 0) { printf "   npm ci: %d registry requests (%d answered by the npm cache)\n", n, cached; fflush() }
      next
    }
    /Unknown user config|^npm warn install-scripts|^[[:space:]]*$/ { next }
    { print "   " $0; fflush() }
    END { if (n % 50) printf "   npm ci: %d registry requests (%d answered by the npm cache)\n", n, cached }
  ' || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if (( rc != 0 )); then
    echo "npm ci FAILED (exit $rc). The first run needs the npm registry (network); later runs use npm's cache." >&2
    return "$rc"
  fi
}

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
npm_stamp=node_modules/.package-lock.sha256
if [[ -f "$npm_stamp" && "$(cat "$npm_stamp")" == "$lock_sum" && -x node_modules/.bin/osls ]]; then
  echo "== npm ci: skipped, node_modules matches package-lock.json (rm -rf node_modules to reinstall)"
else
  echo "== npm ci (the first time it downloads ~220 packages; later they come from npm's cache)"
  npm_ci
  echo "$lock_sum" >"$npm_stamp"
fi

rm -rf "$OUT" .serverless
mkdir -p "$OUT"
echo "== packaging: $STAGES (each ~15-30 s; the first ever also downloads the Lambda's wheels from PyPI)"

package() {  # package <name> <stage> [osls args...]
  local name=$1 stage=$2; shift 2
  local t0 t1
  t0=$(date +%s)
  echo "== package $name (stage $stage)"
  if ! npx --no-install osls package --stage "$stage" --region "$REGION" --package "$OUT/$name" "$@" >"$OUT/$name.log" 2>&1; then
    cat "$OUT/$name.log"
    echo "packaging $name FAILED" >&2
    return 1
  fi
  rm -rf .serverless
  t1=$(date +%s)
  echo "   packaged in $((t1 - t0)) s"
  grep -E '^ +bytecode: ' "$OUT/$name.log" || true
  # >= 95% of the .py files with bytecode for the runtime's version, nothing Lambda never runs.
  "$PYTHON_BIN" scripts/lambda_package.py check "$OUT/$name/architect-bot.zip" --runtime "$RUNTIME"
  echo "== cfn-lint $name"
  "$CFN_LINT" --ignore-checks W3005 -- "$OUT/$name/cloudformation-template-update-stack.json"
  echo "   cfn-lint: no errors, no warnings"
  # cfn-lint does not look inside the dashboard's JSON string: parse it here.
  "$PYTHON_BIN" -c 'import json, sys
t = json.load(open(sys.argv[1]))
json.loads(t["Resources"]["Dashboard"]["Properties"]["DashboardBody"])' "$OUT/$name/cloudformation-template-update-stack.json"
}

for stage in $STAGES; do
  package "$stage" "$stage"
done
# The ElastiCache Serverless variant (function in a VPC, cache + security groups) is not any stage's
# default; package and lint it too so that it stays deployable. The ids are placeholders.
if [[ "${SKIP_VARIANTS:-0}" != "1" ]]; then
  package prod-elasticache prod \
    --param="redisMode=elasticache" \
    --param="vpcId=vpc-0123456789abcdef0" \
    --param="privateSubnetIds=subnet-0123456789abcdef0,subnet-0fedcba9876543210"
fi

echo "== artifacts"
for zip in "$OUT"/*/*.zip; do
  bytes=$(stat -c %s "$zip")
  awk -v z="$zip" -v b="$bytes" 'BEGIN { printf "   %-45s %6.1f MB (%d bytes)\n", z, b / 1048576, b }'
  # Lambda's limit for a direct zip upload is 50 MB (250 MB unzipped).
  if (( bytes > 50 * 1024 * 1024 )); then
    echo "$zip is over Lambda's 50 MB zip limit" >&2
    exit 1
  fi
done
first_zip="$OUT/${STAGES%% *}/architect-bot.zip"
"$PYTHON_BIN" - "$first_zip" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
required = ["handlers/lambda_function.py", "bot/settings.py", "agents/", "slack_bolt/", "pydantic_core/"]
missing = [r for r in required if not any(n.startswith(r) for n in names)]
forbidden = [n for n in names if n.startswith(("node_modules/", "tests/", ".venv/", ".git/", "boto3/", "botocore/"))]
if missing or forbidden:
    sys.exit(f"bad package {sys.argv[1]}: missing {missing}, should not contain {forbidden[:5]}")
print(f"   contents checked: {len(names)} files, handler, bot, agents and arm64 deps present")
PY
echo "package.sh: all stages packaged and linted in $(( $(date +%s) - started )) s"
