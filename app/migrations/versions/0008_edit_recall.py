"""chat_messages: edited_at, recalled_at (edit and recall)

Revision ID: 0006_edit_recall
Revises: 0004_admin_and_invites
Create Date: 2026-11-25 20:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_edit_recall'
down_revision = "0006_unread"
branch_labels = None
depends_on = None


def upgrade():
    # Expand only: two nullable columns; the previous release ignores them.
    with op.batch_alter_table('chat_messages') as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('recalled_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('chat_messages') as batch_op:
        batch_op.drop_column('recalled_at')
        batch_op.drop_column('edited_at')
