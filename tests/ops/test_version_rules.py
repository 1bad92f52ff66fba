"""The roles' version rules: behaviour follows the versions a host has installed, never a
release's name. Debian 12 and 13 run them for real (Molecule, the stacks); here the same
expressions, read from the roles' vars files, get each supported release's package versions,
Ubuntu's included (its archive is not reachable from this machine)."""

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

from tests.conftest import ROOT

init_plugin_loader()  # collections' tests (ansible.utils.ip_address), as ansible-playbook has

# (installed package versions, the Python the host runs, whether the archive has Valkey,
# the radosgw version the archive offers).
# Debian's are the ones seen in this project's containers; Ubuntu 24.04's are its archive's
# release versions; Ubuntu 26.04's are those announced for it (not checked here).
RELEASES = {
    "Debian 12": ({"nginx": "1.22.1-9+deb12u2", "certbot": "2.1.0-4", "systemd": "252.38-1~deb12u1",
                   "postgresql": "15+248"}, "3.11", False, "16.2.15+ds-0+deb12u1"),
    "Debian 13": ({"nginx": "1.26.3-3+deb13u1", "certbot": "4.0.0-2", "systemd": "257.8-1~deb13u2",
                   "postgresql": "17+278"}, "3.13", True, "18.2.7+ds-1"),
    "Ubuntu 24.04": ({"nginx": "1.24.0-2ubuntu7", "certbot": "2.9.0-1", "systemd": "255.4-1ubuntu8",
                      "postgresql": "16+257build1"}, "3.12", False, "19.2.0-0ubuntu0.24.04.2"),
    "Ubuntu 26.04": ({"nginx": "1.28.0-2ubuntu1", "certbot": "4.0.0-2", "systemd": "259-1ubuntu1",
                      "postgresql": "18+281"}, "3.14", True, "20.2.0-0ubuntu1"),
}  # fmt: skip
# What each release must get: nginx's HTTP/2 directive, how certbot tests its deploy hook,
# PrivateUsers= in the app's units, PostgreSQL's major version, the Redis flavors offered,
# whether the object_storage role's gateway (dbstore) can run.
EXPECTED = {
    "Debian 12": ("listen", "forced_renewal", False, "15", ["redis"], False),
    "Debian 13": ("on", "dry_run", True, "17", ["redis", "valkey"], True),
    "Ubuntu 24.04": ("listen", "dry_run", False, "16", ["redis"], True),
    "Ubuntu 26.04": ("on", "dry_run", True, "18", ["redis", "valkey"], True),
}
RULES = {
    "nginx": ("roles/nginx/vars/main.yml", "__nginx_http2_directive"),
    "certbot": ("roles/certbot/vars/main.yml", "__certbot_hooks_test"),
    "sandbox": ("roles/chat_app/vars/main.yml", "__chat_app_private_users"),
    "postgresql": ("roles/postgresql/vars/main.yml", "__postgresql_version"),
    "redis": ("roles/redis/vars/Debian.yml", "__redis_flavors_available"),
    "object_storage": (
        "roles/object_storage/vars/Debian.yml",
        "__object_storage_dbstore_available",
    ),
}
VALKEY_OFFER = "Package: valkey-server\nVersion: 8.1.1+dfsg1-3\n"


def rule(name: str, packages: dict[str, str], valkey: bool, radosgw: str = ""):
    path, variable = RULES[name]
    facts = {"packages": {pkg: [{"version": version}] for pkg, version in packages.items()}}
    loader = DataLoader()
    # The role's own vars file, trusted as Ansible trusts a role's files.
    role_vars = yaml.safe_load((ROOT / path).read_text())
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in role_vars.items()}
    variables = trusted | {
        "ansible_facts": facts,
        "__redis_valkey_offer": {"stdout": VALKEY_OFFER if valkey else ""},
        "__object_storage_radosgw_offer": {
            "stdout": f"Package: radosgw\nVersion: {radosgw}\n" if radosgw else ""
        },
    }
    templar = Templar(loader=loader, variables=variables)
    return templar.template(variables[variable])


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_gets_the_behaviour_of_the_versions_it_carries(release):
    packages, _, valkey, radosgw = RELEASES[release]
    got = tuple(rule(name, packages, valkey, radosgw) for name in RULES)
    assert got == EXPECTED[release]


def test_a_release_never_run_here_follows_its_versions_not_its_name():
    newer = {
        "nginx": "2:1.30.1-1",
        "certbot": "5.1.0-1",
        "systemd": "260-1",
        "postgresql": "19+290",
    }
    assert [rule(name, newer, True, "2:21.1.0-1") for name in RULES] == [
        "on",
        "dry_run",
        True,
        "19",
        ["redis", "valkey"],
        True,
    ]


def test_an_archive_without_radosgw_gets_a_clear_refusal_not_a_guess():
    assert rule("object_storage", {}, False, "") is False


@pytest.mark.parametrize("release", RELEASES)
def test_each_release_s_python_has_a_wheel_lock(release):
    python = RELEASES[release][1]
    lock = ROOT / "requirements" / f"py{python}.lock"
    assert lock.exists(), f"{release} runs Python {python}: no {lock.name}"
    assert f"CPython {python} ({release})" in lock.read_text().splitlines()[0]


def certbot_venv(certbot: str, domains: list[str]) -> bool:
    """The certbot role's rule: whether address mode needs the role's virtualenv certbot."""
    role_vars = yaml.safe_load((ROOT / "roles/certbot/vars/main.yml").read_text())
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in role_vars.items()}
    facts = {"packages": {"certbot": [{"version": certbot}]}}
    variables = trusted | {"ansible_facts": facts, "certbot_domains": domains}
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(variables["__certbot_venv"])


@pytest.mark.parametrize("release", RELEASES)
def test_an_address_gets_the_role_s_certbot_where_the_packaged_one_predates_5_3(release):
    packages, python, _, _ = RELEASES[release]
    assert certbot_venv(packages["certbot"], ["203.0.113.7"]) is True
    assert certbot_venv(packages["certbot"], ["chat.example.com", "2001:db8::7"]) is True
    assert certbot_venv(packages["certbot"], ["chat.example.com"]) is False
    lock = ROOT / "requirements" / f"certbot-py{python}.lock"
    assert f"CPython {python} ({release})" in lock.read_text().splitlines()[0]


def test_a_packaged_certbot_with_ip_addresses_is_used_as_it_is():
    assert certbot_venv("5.3.0-1", ["203.0.113.7"]) is False
    assert certbot_venv("1:5.8.0-1", ["203.0.113.7"]) is False
