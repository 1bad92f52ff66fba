#!/usr/bin/env bash
# Packs a checkout as a release: a reproducible tarball of the tracked files (its hash
# is the release id) and, for each target Python given (3.11 for Debian 12, 3.13 for
# Debian 13), the x86_64 CPython wheels of requirements/py<X.Y>.lock, so the host installs
# with no access to a package index. Prints JSON for Ansible.
#   pack-release.sh SOURCE_DIR X.Y [X.Y ...]
set -euo pipefail
source_dir=$(cd "$1" && pwd)
shift
out="$source_dir/build/release"
mkdir -p "$out"
cd "$source_dir"
git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out/app.tar"
release_id=$(sha256sum "$out/app.tar" | cut -c1-12)
gzip -n -f "$out/app.tar"
wheels_json=""
for python in "$@"; do
    lock="requirements/py$python.lock"
    if [[ ! -f $lock ]]; then
        echo "pack-release: no $lock: this Python has no lock (make one with ansible/lock-dependencies.sh)" >&2
        exit 2
    fi
    # The lock names the exact Python version its markers were resolved for.
    full_version=$(sed -n 's/^# python-version: //p' "$lock")
    wheels="$out/wheels-py$python"
    lock_hash=$(cat "$lock" "$0" | sha256sum | cut -c1-12)
    if [[ ! -f "$wheels/.lock-$lock_hash" ]]; then
        rm -rf "$wheels" && mkdir -p "$wheels"
        "${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check \
            --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
            --platform manylinux_2_17_x86_64 --python-version "$full_version" --implementation cp \
            --no-deps -r "$lock" -d "$wheels" >&2
        touch "$wheels/.lock-$lock_hash"
    fi
    wheels_json+="${wheels_json:+, }\"$python\": {\"wheels\": \"$wheels\", \"lock\": \"$lock\"}"
done
printf '{"id": "%s", "tarball": "%s", "pythons": {%s}}\n' "$release_id" "$out/app.tar.gz" "$wheels_json"
