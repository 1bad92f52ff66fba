#!/usr/bin/env bash
# Builds the local Debian systemd images that Molecule, the full-stack test and the local
# stack run on: localhost/natter-debian12 (bookworm) and localhost/natter-debian13 (trixie).
#   ansible/test-image/build.sh [debian12|debian13 ...]   (default: both)
# No registry is needed: mmdebstrap, given no mirror, reuses this machine's own apt
# sources for either suite. Each image is built once and reused; concurrent callers wait
# for the first one. Its package lists are empty: ansible/molecule/prepare.yml (or the
# caller) fills them before a role runs.
set -euo pipefail
PACKAGES=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$(dirname "$0")/.." && pwd)/podman/containers.conf}

suite_of() {
    case $1 in
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *)
        echo "test-image: unknown distribution '$1' (debian12 or debian13)" >&2
        return 2
        ;;
    esac
}

build() {
    local distro=$1 image=localhost/natter-$1 suite workdir
    suite=$(suite_of "$distro")
    if podman image exists "$image"; then
        return 0
    fi
    workdir=$(mktemp -d)
    echo "test-image: building $image ($suite) with mmdebstrap"
    mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
        --customize-hook='rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id' \
        "$suite" "$workdir/rootfs.tar"
    podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
        "$workdir/rootfs.tar" "$image" >/dev/null
    rm -rf "$workdir"
    echo "test-image: $image ready"
}

distros=("$@")
[[ ${#distros[@]} -gt 0 ]] || distros=(debian12 debian13)
for distro in "${distros[@]}"; do
    suite_of "$distro" >/dev/null
done
exec 9>/tmp/natter-test-image.lock
flock 9
for distro in "${distros[@]}"; do
    build "$distro"
done
