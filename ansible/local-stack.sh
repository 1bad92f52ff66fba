#!/usr/bin/env bash
# The local stack: one Debian 12 systemd container on this machine, provisioned by
# site.yml exactly as a server would be, its ports published on 127.0.0.1 only.
#   ansible/local-stack.sh up | down | rollback
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/ansible/podman/containers.conf}
export ANSIBLE_CONFIG=$PWD/ansible.cfg
CONTAINER=natter-local
IMAGE=localhost/natter-debian12
HTTP_PORT=${NATTER_HTTP_PORT:-80}
HTTPS_PORT=${NATTER_HTTPS_PORT:-443}
CA_DIR=${NATTER_LOCAL_CA_DIR:-$PWD/build/local-ca}
DOMAIN=natter.localhost

make_local_ca() {
    [[ -f "$CA_DIR/ca.crt" ]] && return
    mkdir -p "$CA_DIR" && chmod 700 "$CA_DIR"
    # The CA may only sign *.localhost names, so trusting it risks nothing else.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=Natter local stack CA ($(hostname))" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "nameConstraints=critical,permitted;DNS:localhost,permitted;DNS:.localhost" \
        -keyout "$CA_DIR/ca.key" -out "$CA_DIR/ca.crt" 2>/dev/null
    echo "local-stack: made a local CA in $CA_DIR"
}

start_container() {
    if ! podman container exists "$CONTAINER"; then
        # NET_ADMIN: the base role's nftables firewall, in the container's own network
        # namespace (this machine's firewall is not touched).
        podman run -d --name "$CONTAINER" --hostname "$CONTAINER" --cap-add NET_ADMIN \
            -p "127.0.0.1:$HTTP_PORT:80" -p "127.0.0.1:$HTTPS_PORT:443" "$IMAGE" >/dev/null
    fi
    if ! podman inspect --format '{{.EffectiveCaps}}' "$CONTAINER" | grep -q CAP_NET_ADMIN; then
        echo "local-stack: $CONTAINER was made before the firewall role; recreate it: make down && make up" >&2
        exit 1
    fi
    podman start "$CONTAINER" >/dev/null
    for _ in $(seq 60); do
        state=$(podman exec "$CONTAINER" systemctl is-system-running 2>/dev/null || true)
        [[ $state == running || $state == degraded ]] && break
        sleep 0.5
    done
    # A fresh Debian host has its package lists; this image starts without them.
    podman exec "$CONTAINER" sh -c 'ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1 || apt-get update -q >/dev/null'
}

case ${1:-up} in
up)
    ansible/test-image/build.sh
    make_local_ca
    start_container
    start=$(date +%s)
    NATTER_LOCAL_CA_DIR=$CA_DIR ansible-playbook -i inventory/local site.yml
    port_suffix=$([[ $HTTPS_PORT == 443 ]] && echo "" || echo ":$HTTPS_PORT")
    cat <<MSG

Natter is up (provisioned in $(( $(date +%s) - start )) s). Open:

    https://$DOMAIN$port_suffix/

Register two accounts (two browser profiles, or one private window), start a
conversation, and record. The certificate is signed by a CA made on this machine:
trust $CA_DIR/ca.crt once (Chromium: Settings > Privacy and security > Security >
Manage certificates > Authorities > Import; Firefox: Settings > Certificates >
Import; or certutil -d sql:\$HOME/.pki/nssdb -A -t C,, -n natter-local -i ca.crt).
The CA can only sign *.localhost names. Remove the stack with: make down
MSG
    ;;
down)
    podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
    echo "local-stack: removed $CONTAINER (the local CA stays in $CA_DIR)"
    ;;
rollback)
    ansible-playbook -i inventory/local ansible/rollback.yml
    ;;
*)
    echo "usage: $0 up|down|rollback" >&2
    exit 2
    ;;
esac
