#!/usr/bin/env bash
# Prepares this machine as the controller.
#   ansible/bootstrap.sh deploy  only the project's virtualenv (.venv) with Ansible and its
#                                collections: all that deploying needs, on any Linux or
#                                macOS machine with Python 3.11+ and git (make deploy-setup)
#   ansible/bootstrap.sh test    also the test toolchain for make up / make test / make bench:
#                                the Debian packages in ansible/controller-packages.txt and
#                                every dev tool in .venv (make setup; Debian only)
# Safe to run again: it only installs what is missing or changed, and it changes no
# service of this machine except, once, the nginx and postgresql it has just installed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
case $mode in
deploy) extra=deploy ;;
test) extra=dev ;;
*)
    echo "usage: $0 deploy|test" >&2
    exit 2
    ;;
esac

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "bootstrap: Python 3.11 or newer is needed as python3 (Ansible's controller needs it)" >&2
    exit 1
fi

install_test_packages() {
    if ! command -v dpkg-query >/dev/null; then
        echo "bootstrap: the test toolchain (Podman, Chromium, Pebble...) is installed from Debian" \
            "packages; this is not a Debian machine. Deploying needs only: make deploy-setup" >&2
        exit 1
    fi
    mapfile -t packages < <(grep -Ev '^\s*(#|$)' ansible/controller-packages.txt)
    missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
    # Debian starts a freshly installed nginx on port 80, where `make up` publishes the local
    # stack. The benchmarks only use its binary (their own config on a loopback port), so the
    # service just installed here is stopped and disabled. An nginx that was already installed
    # is never touched.
    if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null; then
        "${sudo_cmd[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
        echo "bootstrap: stopped and disabled the nginx service that nginx-light just installed" \
            "(only its binary is used, by make bench); re-enable: systemctl enable --now nginx"
    fi
    # Debian starts a cluster of the freshly installed postgresql on port 5432. The tests
    # only use its programs (a throwaway cluster of their own on a random port), so the
    # service just installed here is stopped and disabled, like nginx above.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v systemctl >/dev/null; then
        "${sudo_cmd[@]}" systemctl disable --now postgresql >/dev/null 2>&1 || true
        echo "bootstrap: stopped and disabled the postgresql service that was just installed" \
            "(the tests run their own server); re-enable: systemctl enable --now postgresql"
    fi
}

[[ $mode == test ]] && install_test_packages

# The stamp names what .venv holds: the extra it was made with and pyproject.toml's hash.
stamp=.venv/.installed-from
hash=$(python3 -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
wanted="$extra $hash"
have=$(cat "$stamp" 2>/dev/null || true)
# A dev venv already holds everything a deploy needs.
if [[ ! -x .venv/bin/python || ( "$have" != "$wanted" && "$have" != "dev $hash" ) ]]; then
    echo "bootstrap: installing the Python environment in .venv ($extra)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -e ".[$extra]"
    echo "$wanted" >"$stamp"
fi

# The browser tests' JavaScript (axe-core, tests/browser/package.json), from the npm
# registry by its lock file; again only when the lock changes.
install_test_node_modules() {
    if ! command -v npm >/dev/null; then
        echo "bootstrap: installing npm (Debian package) for the browser tests' axe-core"
        sudo_cmd=()
        [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends npm
    fi
    local node_stamp=tests/browser/node_modules/.installed-from
    local lock_hash
    lock_hash=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
    if [[ $(cat "$node_stamp" 2>/dev/null || true) != "$lock_hash" ]]; then
        echo "bootstrap: installing the browser tests' node modules (npm ci)"
        npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts --loglevel=error
        echo "$lock_hash" >"$node_stamp"
    fi
}

[[ $mode == test ]] && install_test_node_modules

# The message catalogs the app (and each release, see roles/chat_app) reads: .po -> .mo.
.venv/bin/pybabel compile --statistics -d app/translations 2>&1 | sed 's/^/bootstrap: /'
