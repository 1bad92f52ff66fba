#!/usr/bin/env bash
# Packs a checkout as a release: a reproducible tarball of the tracked files (its hash
# is the release id) and the wheels of requirements.lock for Debian 12 (x86_64, CPython 3.11.2),
# so the host installs with no access to a package index. Prints JSON for Ansible.
set -euo pipefail
source_dir=$(cd "$1" && pwd)
out="$source_dir/build/release"
mkdir -p "$out/wheels"
cd "$source_dir"
git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out/app.tar"
release_id=$(sha256sum "$out/app.tar" | cut -c1-12)
gzip -n -f "$out/app.tar"
lock_hash=$(cat requirements.lock "$0" | sha256sum | cut -c1-12)
if [[ ! -f "$out/wheels/.lock-$lock_hash" ]]; then
    rm -rf "$out/wheels" && mkdir -p "$out/wheels"
    "${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check \
        --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --python-version 3.11.2 --implementation cp \
        -r requirements.lock -d "$out/wheels" >&2
    touch "$out/wheels/.lock-$lock_hash"
fi
printf '{"id": "%s", "tarball": "%s", "wheels": "%s", "lock": "%s"}\n' \
    "$release_id" "$out/app.tar.gz" "$out/wheels" "$lock_hash"
