#!/usr/bin/env bash
# Builds localhost/natter-s3-rgw: the Debian 13 test image plus Ceph's radosgw, the
# real S3 server the storage tests start. Built once and reused; concurrent callers
# wait for the first one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=${NATTER_RGW_IMAGE:-localhost/natter-s3-rgw}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/../podman/containers.conf}

NATTER_TEST_IMAGE=localhost/natter-debian13 NATTER_TEST_SUITE=trixie "$here/build.sh"
exec 8>/tmp/natter-s3-rgw-image.lock
flock 8
if podman image exists "$IMAGE"; then
    exit 0
fi
echo "rgw-image: building $IMAGE"
podman build --quiet --file "$here/rgw.Containerfile" --tag "$IMAGE" "$here" >/dev/null
echo "rgw-image: $IMAGE ready"
