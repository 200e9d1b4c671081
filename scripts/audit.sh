#!/usr/bin/env bash
# Dependency audit (`make audit`): pip-audit over the virtualenv's packages and npm audit
# over the pinned front-end packages. Both ask an advisory service on the internet (PyPI's
# vulnerability data, the npm registry's bulk advisory endpoint); where the network does
# not allow it, this says so plainly and exits 3 — "not checked" is never "no findings".
# Exit codes: 0 nothing known, 1 vulnerabilities found, 3 could not be checked.
set -uo pipefail
cd "$(dirname "$0")/.."
result=0
unchecked=0

echo "== Python packages (pip-audit) =="
out=$(.venv/bin/pip-audit --progress-spinner off --strict --skip-editable --desc 2>&1)
rc=$?
echo "$out" | tail -n 40
if [ $rc -ne 0 ]; then
  if echo "$out" | grep -q "known vulnerabilit"; then
    result=1
  else
    echo "pip-audit could not reach its advisory service: Python packages NOT checked." >&2
    unchecked=1
  fi
fi

echo "== Front-end packages (npm audit) =="
out=$(npm audit --omit=dev 2>&1)
rc=$?
echo "$out" | tail -n 40
if [ $rc -ne 0 ]; then
  if echo "$out" | grep -qE "audit endpoint returned an error|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|405"; then
    echo "npm audit could not reach its advisory service: front-end packages NOT checked." >&2
    unchecked=1
  else
    result=1
  fi
fi

if [ $result -ne 0 ]; then exit 1; fi
if [ $unchecked -ne 0 ]; then exit 3; fi
echo "No known vulnerabilities."
