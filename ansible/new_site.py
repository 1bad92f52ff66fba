"""Writes the inventory of a new server: `make site DOMAIN=chat.example.com` or `make site
ADDRESS=203.0.113.7` (optionally NAME=, EMAIL=, ADMIN=, SSH_USER=).

    python ansible/new_site.py (--domain NAME | --address IP) [--name N] [--email E]
                               [--admin USER] [--ssh-user USER]

inventory/<name>/ gets hosts.yml (one host in every group), group_vars/all/main.yml (this
environment's facts, commented) and group_vars/all/vault.yml: the Redis, PostgreSQL and
first admin's passwords, generated here and encrypted with Ansible Vault under a password
the operator types twice (never an argument, never a file). An existing inventory is never
overwritten. It prints the one command that deploys the server.
"""

import argparse
import getpass
import ipaddress
import re
import secrets
import sys
from pathlib import Path

from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = Path(__file__).resolve().parent.parent
# A vault password shorter than this is refused: it guards every secret of the site.
MIN_VAULT_PASSWORD = 12
# RFC 1123 host names: labels of letters, digits and hyphens, a dot between them.
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
GROUPS = ["db", "redis", "app", "worker", "web"]

HOSTS = """\
---
# Written by `make site`: one server that is every group (Gunicorn on its unix socket,
# Redis and PostgreSQL on localhost only). Hosts apart: docs of inventory/production.example.
all:
  vars:
{connection}
  children:
{groups}
    # Voice files in S3 (the object_storage role on a Debian 13 host); empty: on this disk.
    storage:
      hosts: {{}}
"""

FACTS = """\
---
# Written by `make site`: this environment's facts. The roles read them through their
# defaults; the values the roles share are in group_vars/all/wiring.yml next to site.yml.
# The site's name: {name_meaning}
natter_domain: "{site}"
# The contact address of the certificate authority's expiry mails.
natter_admin_email: "{email}"
# How the certificate is made: {mode_meaning}
certbot_mode: {mode}
{public_url}# The app's data on PostgreSQL on this host; its password is in the vault.
natter_database: postgresql
natter_database_password: "{{{{ vault_natter_database_password }}}}"
natter_redis_password: "{{{{ vault_natter_redis_password }}}}"
# The first admin account, made on the first run; its password is in the vault
# (ansible-vault view group_vars/all/vault.yml).
natter_admin_username: "{admin}"
natter_admin_password: "{{{{ vault_natter_admin_password }}}}"
# Accounts only through invite links (admins make them on /admin or with natter-admin).
chat_app_registration_mode: invite
# Prometheus servers that may scrape /metrics and /nginx_status (loopback always may).
natter_monitoring_networks: []
"""

ACME = "acme", "issued by Let's Encrypt through the webroot Nginx serves on port 80."
ADDRESS = (
    "acme",
    'issued by Let\'s Encrypt for the address itself (its six-day "shortlived" certificates,\n'
    "# renewed every three days by the certbot role's natter-certbot.timer) through the webroot\n"
    "# Nginx serves on port 80 (reachable from the internet). `certbot_mode: selfsigned` instead:\n"
    "# a long-lived self-signed certificate that each browser asks once to accept.",
)
SELFSIGNED = (
    "selfsigned",
    "a self-signed certificate for the address (each browser asks once to accept it):\n"
    "# no public CA signs for a private address, nor reaches it to validate.",
)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write the inventory of a new server.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--domain", help="the site's DNS name, e.g. chat.example.com")
    where.add_argument("--address", help="the address browsers reach the server at (IPv4 or IPv6)")
    parser.add_argument("--name", help="the inventory's folder name (default: from the site)")
    parser.add_argument("--email", help="the certificate authority's contact address")
    parser.add_argument("--admin", default="admin", help="the first admin's username")
    parser.add_argument("--ssh-user", help="the SSH user Ansible logs in as (a sudo user)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def site_of(args: argparse.Namespace) -> tuple[str, bool]:
    """The site's name as browsers see it, and whether it is an address."""
    if args.domain:
        domain = args.domain.strip().lower().rstrip(".")
        if not DOMAIN.match(domain):
            raise SystemExit(f"make site: '{args.domain}' is not a DNS name (chat.example.com)")
        return domain, False
    try:
        address = ipaddress.ip_address(args.address.strip().strip("[]"))
    except ValueError:
        raise SystemExit(f"make site: '{args.address}' is not an IPv4 or IPv6 address") from None
    # A private address is fine (a server on a LAN); these cannot name a server at all.
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_link_local
    ):
        raise SystemExit(f"make site: browsers cannot reach a server at {address}")
    return str(address), True


def inventory_name(args: argparse.Namespace, site: str) -> str:
    name = args.name or re.sub(r"[^a-z0-9_.-]", "-", site)
    if not NAME.match(name):
        raise SystemExit(f"make site: '{name}' cannot name a folder (letters, digits, _ . -)")
    return name


def ask_vault_password() -> str:
    print("make site: the vault password encrypts the site's passwords; you type it at")
    print("every deploy (--ask-vault-pass). Keep it in your password manager.")
    for _ in range(3):
        first = getpass.getpass("Vault password: ")
        if len(first) < MIN_VAULT_PASSWORD:
            print(f"At least {MIN_VAULT_PASSWORD} characters, please.")
            continue
        if getpass.getpass("Vault password again: ") == first:
            return first
        print("The two passwords differ; again.")
    raise SystemExit("make site: no vault password was set; nothing was written")


def render_hosts(host: str, ssh_user: str | None) -> str:
    connection = f"    ansible_user: {ssh_user}" if ssh_user else "    # ansible_user: debian"
    groups = "\n".join(f"    {group}:\n      hosts:\n        {host}:" for group in GROUPS)
    return HOSTS.format(connection=connection, groups=groups)


def render_facts(site: str, is_address: bool, email: str, admin: str) -> str:
    address = ipaddress.ip_address(site) if is_address else None
    # A public address gets a certificate for itself from Let's Encrypt; a private one
    # (a LAN) cannot, and gets the self-signed one.
    if address is None:
        mode, mode_meaning = ACME
    else:
        mode, mode_meaning = ADDRESS if address.is_global else SELFSIGNED
    public_url = ""
    if address is not None and address.version == 6:
        public_url = (
            "# Links the app makes (invites) name the address in brackets.\n"
            f'chat_app_public_url: "https://[{site}]"\n'
        )
    return FACTS.format(
        site=site,
        name_meaning=(
            "the server's address (browsers reach https://ADDRESS/)."
            if is_address
            else "its A/AAAA record must point at the server before the first run."
        ),
        email=email,
        mode=mode,
        mode_meaning=mode_meaning,
        public_url=public_url,
        admin=admin,
    )


def render_vault(password: str) -> bytes:
    values = {
        name: secrets.token_urlsafe(24)
        for name in (
            "vault_natter_redis_password",
            "vault_natter_database_password",
            "vault_natter_admin_password",
        )
    }
    plain = "---\n" + "".join(f'{name}: "{value}"\n' for name, value in values.items())
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    return vault.encrypt(plain.encode())


def main(argv: list[str]) -> int:
    args = parse_arguments(argv)
    site, is_address = site_of(args)
    name = inventory_name(args, site)
    folder = args.root / "inventory" / name
    if folder.exists():
        print(f"make site: {folder.relative_to(args.root)} exists; nothing was changed "
              "(choose another NAME=, or edit that inventory)", file=sys.stderr)  # fmt: skip
        return 1
    # An address has no domain to write a contact address in: the CA account goes without.
    email = args.email or ("" if is_address else "admin@" + site)
    if email and "@" not in email:
        raise SystemExit(f"make site: '{email}' is not a mail address")
    password = ask_vault_password()
    (folder / "group_vars" / "all").mkdir(parents=True)
    (folder / "hosts.yml").write_text(render_hosts(site, args.ssh_user))
    (folder / "group_vars/all/main.yml").write_text(
        render_facts(site, is_address, email, args.admin)
    )
    (folder / "group_vars/all/vault.yml").write_bytes(render_vault(password))
    (folder / "group_vars/all/vault.yml").chmod(0o600)
    relative = folder.relative_to(args.root)
    print(f"make site: wrote {relative}/ (hosts.yml, group_vars/all/main.yml, vault.yml)")
    print("Deploy (SSH to the server as a sudo user, ports 80 and 443 open):")
    print(
        f"  make deploy-setup && .venv/bin/ansible-playbook -i {relative} site.yml --ask-vault-pass"
    )
    print(f"The first admin is '{args.admin}'; the password: "
          f".venv/bin/ansible-vault view {relative}/group_vars/all/vault.yml")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
