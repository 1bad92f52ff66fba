"""voice messages record their storage backend

Revision ID: 0004
Revises: 0002_names_and_locale
Create Date: 2026-11-25 17:35:00

Expand-only: a nullable column (NULL = local disk, as every message before it); the
previous release ignores it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002_names_and_locale"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_column("storage")
