#!/usr/bin/env bash
# Writes requirements/py3.11.lock (Debian 12), py3.12.lock (Ubuntu 24.04), py3.13.lock
# (Debian 13) and py3.14.lock (Ubuntu 26.04):
# the app's runtime dependencies for each target Python, pinned to the versions in the
# project venv (the ones the tests run with), or to those of a constraints file given as
# the argument (e.g. a previous lock, to keep the deployed versions):
#   ansible/lock-dependencies.sh [CONSTRAINTS_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
constraints=${1:-$work/constraints.txt}
[[ $# -gt 0 ]] || .venv/bin/pip freeze --exclude-editable >"$constraints"
.venv/bin/python ansible/lock_dependencies.py "$constraints"
