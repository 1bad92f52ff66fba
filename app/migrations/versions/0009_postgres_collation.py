"""Folded names compare code point by code point on PostgreSQL too ("C" collation)

People search asks for the range [q, q + U+10FFFF) of username_key and display_name_key,
and the pages follow username_key's order: both need code point order, which SQLite has
and PostgreSQL's default (language) collation has not. Nothing changes on SQLite.

Revision ID: 0006_postgres_collation
Revises: 0004_admin_and_invites
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_postgres_collation'
down_revision = "0006_edit_recall"
branch_labels = None
depends_on = None

COLUMNS = (('username_key', 128, False), ('display_name_key', 160, True))


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for column, length, nullable in COLUMNS:
        op.alter_column(
            'users', column, type_=sa.String(length, collation='C'),
            existing_type=sa.String(length), existing_nullable=nullable,
        )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for column, length, nullable in COLUMNS:
        op.alter_column(
            'users', column, type_=sa.String(length, collation='default'),
            existing_type=sa.String(length, collation='C'), existing_nullable=nullable,
        )
