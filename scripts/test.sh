#!/usr/bin/env bash
# npm test: installs what the suite needs (Debian packages as root, npm deps), builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh servers
echo "redis-fleet: lint (eslint) and format check (prettier)" >&2
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --list-different . >&2; echo "redis-fleet: files above are not formatted: npm run format" >&2; exit 1; }
files=$(find dist/test -name '*.test.js' | sort)
if [ -n "${TEST_FILTER:-}" ]; then files=$(echo "$files" | grep -E "$TEST_FILTER" || true); fi
[ -n "$files" ] || { echo "no test files found" >&2; exit 1; }
# shellcheck disable=SC2086
exec node --test --test-timeout=300000 --test-reporter=spec $files
