#!/usr/bin/env bash
# Writes requirements.lock: the app's runtime dependencies, pinned to the versions in
# the project venv (the ones the tests run with), resolved in a clean venv.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.venv/bin/pip freeze --exclude-editable >"$work/constraints.txt"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check -c "$work/constraints.txt" .
{
    echo "# Exact versions of the app's runtime dependencies, the ones the tests run with."
    echo "# roles/chat_app installs them into each release's venv. Regenerate with"
    echo "# ansible/lock-dependencies.sh after changing pyproject.toml."
    "$work/venv/bin/pip" freeze --exclude natter | grep -v '^natter'
    # Debian 12 ships Python 3.11.2, where redis also needs this backport.
    echo 'async-timeout==5.0.1'
} >requirements.lock
"$work/venv/bin/pip" check
