"""`make site` from a clean folder: the inventory it writes passes site.yml's syntax check,
its vault opens with the password typed at the prompt, and nothing is ever overwritten."""

import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

from tests.conftest import ROOT

VAULT_PASSWORD = "correct horse battery"
VAULT_KEYS = {
    "vault_natter_redis_password",
    "vault_natter_database_password",
    "vault_natter_admin_password",
}


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A clean copy of the repository's tracked files, sharing the project's venv."""
    folder = tmp_path / "natter"
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file() and not name.startswith(("docs/", "tests/")):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name, follow_symlinks=False)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


def make_site(checkout: Path, *arguments: str, typed: list[str]) -> tuple[int, str]:
    """Runs `make site ...` on a terminal of its own, typing each line of `typed` at the
    prompts (getpass reads the terminal, not standard input)."""
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(checkout)
        os.execvp("make", ["make", "--no-print-directory", "site", *arguments])  # noqa: S606
    output = b""
    answers, answered = list(typed), 0
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child closed its terminal
            break
        if not chunk:
            break
        output += chunk
        prompts = output.count(b"Vault password: ") + output.count(b"Vault password again: ")
        while answered < prompts and answers:
            os.write(terminal, answers.pop(0).encode() + b"\n")
            answered += 1
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def open_vault(path: Path, password: str) -> dict:
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    return yaml.safe_load(vault.decrypt(path.read_bytes()))


def syntax_check(checkout: Path, inventory: str, tmp_path: Path) -> None:
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    done = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), "-i", inventory, "site.yml",
         "--syntax-check", "--vault-password-file", str(password_file)],
        cwd=checkout, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def ansible_inventory(checkout: Path, inventory: str, tmp_path: Path, *what: str) -> dict:
    """What Ansible reads from the inventory: --list (the groups) or --host NAME (its vars)."""
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    done = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-inventory"), "-i", inventory, *what, "--yaml",
         "--vault-password-file", str(password_file)],
        cwd=checkout, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return yaml.safe_load(done.stdout)


def test_a_domain_gets_an_inventory_whose_vault_opens_with_the_typed_password(checkout, tmp_path):
    status, output = make_site(
        checkout, "DOMAIN=chat.example.com", typed=[VAULT_PASSWORD, VAULT_PASSWORD]
    )
    assert status == 0, output
    assert "ansible-playbook -i inventory/chat.example.com site.yml --ask-vault-pass" in output
    folder = checkout / "inventory/chat.example.com"
    secrets = open_vault(folder / "group_vars/all/vault.yml", VAULT_PASSWORD)
    assert set(secrets) == VAULT_KEYS
    assert len(set(secrets.values())) == 3 and all(len(v) >= 24 for v in secrets.values())
    assert VAULT_PASSWORD not in output and not any(v in output for v in secrets.values())
    assert oct((folder / "group_vars/all/vault.yml").stat().st_mode & 0o777) == "0o600"
    syntax_check(checkout, "inventory/chat.example.com", tmp_path)
    inventory = "inventory/chat.example.com"
    groups = ansible_inventory(checkout, inventory, tmp_path, "--list")["all"]["children"]
    for group in ("web", "app", "worker", "db", "redis"):
        assert list(groups[group]["hosts"]) == ["chat.example.com"]
    facts = ansible_inventory(checkout, inventory, tmp_path, "--host", "chat.example.com")
    assert facts["natter_domain"] == "chat.example.com"
    assert facts["certbot_mode"] == "acme"
    assert facts["natter_admin_email"] == "admin@chat.example.com"
    # Ansible itself opens the vault with the typed password.
    assert facts["vault_natter_admin_password"] == secrets["vault_natter_admin_password"]


def test_an_address_is_enough(checkout, tmp_path):
    status, output = make_site(
        checkout, "ADDRESS=203.0.113.7", "NAME=office", typed=[VAULT_PASSWORD, VAULT_PASSWORD]
    )
    assert status == 0, output
    syntax_check(checkout, "inventory/office", tmp_path)
    facts = ansible_inventory(checkout, "inventory/office", tmp_path, "--host", "203.0.113.7")
    assert facts["natter_domain"] == "203.0.113.7"
    # A documentation (not global) address: no public CA signs for it.
    assert facts["certbot_mode"] == "selfsigned"


@pytest.mark.parametrize("address", ["1.2.3.4", "2a00:1450::1"])
def test_a_public_address_gets_a_certificate_for_itself_from_the_ca(checkout, tmp_path, address):
    status, output = make_site(
        checkout, f"ADDRESS={address}", "NAME=public", typed=[VAULT_PASSWORD, VAULT_PASSWORD]
    )
    assert status == 0, output
    syntax_check(checkout, "inventory/public", tmp_path)
    facts = ansible_inventory(checkout, "inventory/public", tmp_path, "--host", address)
    assert facts["natter_domain"] == address
    assert facts["certbot_mode"] == "acme"
    # No domain to make a contact address from: the certbot role registers without one.
    assert facts["natter_admin_email"] == ""
    main = (checkout / "inventory/public/group_vars/all/main.yml").read_text()
    assert "certbot_mode: selfsigned` instead" in main


def test_an_existing_inventory_is_never_overwritten(checkout):
    assert make_site(checkout, "DOMAIN=chat.example.com", typed=[VAULT_PASSWORD] * 2)[0] == 0
    vault = checkout / "inventory/chat.example.com/group_vars/all/vault.yml"
    before = vault.read_bytes()
    status, output = make_site(checkout, "DOMAIN=chat.example.com", typed=[VAULT_PASSWORD] * 2)
    assert status != 0
    assert "inventory/chat.example.com exists; nothing was changed" in output
    assert vault.read_bytes() == before


@pytest.mark.parametrize(
    "argument, message",
    [
        ("DOMAIN=chat_example", "'chat_example' is not a DNS name"),
        ("ADDRESS=203.0.113.300", "is not an IPv4 or IPv6 address"),
        ("ADDRESS=127.0.0.1", "browsers cannot reach a server at 127.0.0.1"),
    ],
)
def test_a_wrong_site_is_refused_before_anything_is_written(checkout, argument, message):
    status, output = make_site(checkout, argument, typed=[])
    assert status != 0
    assert message in output
    assert sorted(p.name for p in (checkout / "inventory").iterdir()) == [
        "local",
        "production.example",
    ]


def test_a_short_or_mistyped_vault_password_writes_nothing(checkout):
    status, output = make_site(
        checkout, "DOMAIN=chat.example.com", typed=["short", VAULT_PASSWORD, "other one!!!!", "x"]
    )
    assert status != 0
    assert "At least 12 characters" in output and "The two passwords differ" in output
    assert "no vault password was set; nothing was written" in output
    assert not (checkout / "inventory/chat.example.com").exists()
