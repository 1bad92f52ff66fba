#!/usr/bin/env bash
# Builds the local Debian 12 systemd image that Molecule and the local stack run on.
# No registry is needed: mmdebstrap reuses this machine's own apt sources. The image
# is built once and reused; concurrent callers wait for the first one. Its package
# lists are empty: ansible/molecule/prepare.yml fills them before a role runs.
set -euo pipefail
IMAGE=${NATTER_TEST_IMAGE:-localhost/natter-debian12}
SUITE=${NATTER_TEST_SUITE:-bookworm}
PACKAGES=systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$(dirname "$0")/.." && pwd)/podman/containers.conf}

exec 9>/tmp/natter-test-image.lock
flock 9
if podman image exists "$IMAGE"; then
    exit 0
fi
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
echo "test-image: building $IMAGE ($SUITE) with mmdebstrap"
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
    --customize-hook='rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id' \
    "$SUITE" "$workdir/rootfs.tar"
podman import --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
    "$workdir/rootfs.tar" "$IMAGE" >/dev/null
echo "test-image: $IMAGE ready"
