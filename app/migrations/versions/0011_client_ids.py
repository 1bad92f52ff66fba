"""chat_messages.client_id: the sender's key for a send, so a retry finds the stored message

Revision ID: 0011_client_ids
Revises: 0010_message_changes
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_client_ids'
down_revision = '0010_message_changes'
branch_labels = None
depends_on = None


def upgrade():
    # Expand only: two nullable columns and an index; the previous release never sets them,
    # and its messages (NULL keys) never collide in the unique index.
    with op.batch_alter_table('chat_messages') as batch:
        batch.add_column(sa.Column('client_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('client_digest', sa.String(length=64), nullable=True))
    op.create_index(
        'ix_chat_messages_sender_id_client_id', 'chat_messages', ['sender_id', 'client_id'],
        unique=True,
    )


def downgrade():
    op.drop_index('ix_chat_messages_sender_id_client_id', table_name='chat_messages')
    with op.batch_alter_table('chat_messages') as batch:
        batch.drop_column('client_digest')
        batch.drop_column('client_id')
