"""Accounts: registration, login, sessions, passwords, invites, profiles, names."""
