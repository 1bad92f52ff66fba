"""message_changes: the log of edits, recalls and finished transcodes that pages replay

Revision ID: 0010_message_changes
Revises: 0006_postgres_collation
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_message_changes'
down_revision = '0006_postgres_collation'
branch_labels = None
depends_on = None


def upgrade():
    # Expand only: a new table; the previous release neither reads nor writes it.
    op.create_table(
        'message_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['chat_messages.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_message_changes_conversation_id_id', 'message_changes', ['conversation_id', 'id']
    )


def downgrade():
    op.drop_index('ix_message_changes_conversation_id_id', table_name='message_changes')
    op.drop_table('message_changes')
