#!/usr/bin/env bash
# Runs every role's Molecule scenarios on every distribution of the matrix and prints
# each scenario's duration per distribution, then a summary table.
#   MOLECULE_DISTROS="debian12 debian13" MOLECULE_ROLES="ffmpeg redis nginx certbot" \
#       ansible/molecule-matrix.sh
# A scenario other than `default` runs on the distributions its molecule.yml names in
# a "# distros: ..." line (the redis role's `valkey` scenario: Debian 13 only).
# MOLECULE_ONLY / MOLECULE_SKIP: runs ("role/scenario/distro", space-separated) to run
# alone / to leave out, so that make test can share the matrix between two lanes.
set -euo pipefail
cd "$(dirname "$0")/.."
DISTROS=${MOLECULE_DISTROS:-debian12 debian13}
ROLES=${MOLECULE_ROLES:-ffmpeg redis nginx certbot}
ONLY=" ${MOLECULE_ONLY:-} "
SKIP=" ${MOLECULE_SKIP:-} "
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/ansible/podman/containers.conf}
# shellcheck disable=SC2086
ansible/test-image/build.sh $DISTROS

summary=()
# With TEST_RESULTS (make test), each verdict is also written there for the closing summary.
verdict() {
    echo "== molecule test: $1"
    if [[ -n ${TEST_RESULTS:-} ]]; then echo "$1" >> "$TEST_RESULTS/molecule.txt"; fi
}
run() {
    local role=$1 scenario=$2 distro=$3 start elapsed
    echo "== molecule test: $role/$scenario on $distro"
    start=$(date +%s)
    # Molecule's folder (state, inventory) per distribution, not only per scenario.
    export MOLECULE_EPHEMERAL_DIRECTORY="${XDG_CACHE_HOME:-$HOME/.cache}/natter-molecule/$role-$scenario-$distro"
    if ! (cd "roles/$role" && MOLECULE_DISTRO=$distro molecule test -s "$scenario"); then
        verdict "$role/$scenario on $distro FAILED after $(( $(date +%s) - start )) s"
        return 1
    fi
    elapsed=$(( $(date +%s) - start ))
    verdict "$role/$scenario on $distro passed in $elapsed s"
    summary+=("$(printf '%-22s %-9s %5d s' "$role/$scenario" "$distro" "$elapsed")")
}

for distro in $DISTROS; do
    for role in $ROLES; do
        for dir in roles/"$role"/molecule/*/; do
            scenario=$(basename "$dir")
            if [[ $scenario != default ]]; then
                only=$(sed -n 's/^# distros: //p' "$dir/molecule.yml")
                [[ -z $only || " $only " == *" $distro "* ]] || continue
            fi
            [[ $ONLY == "  " || $ONLY == *" $role/$scenario/$distro "* ]] || continue
            [[ $SKIP != *" $role/$scenario/$distro "* ]] || continue
            run "$role" "$scenario" "$distro"
        done
    done
done
echo "== molecule matrix: every scenario passed"
printf '%s\n' "${summary[@]}"
