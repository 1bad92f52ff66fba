"""conversation_participants.last_read_message_id: unread counts that hold across devices

Revision ID: 0006_unread
Revises: 0004_admin_and_invites
Create Date: 2026-11-25 20:10:00

Expand-only: one column with a server default (0 = nothing read); the previous release
ignores it. Unread counts and the conversation list's last message read the existing
chat_messages (conversation_id, id) index; the read position lives in the participant row,
whose primary key (conversation_id, user_id) finds it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_unread"
down_revision = "0006_heard"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_read_message_id", sa.Integer(), nullable=False, server_default="0"
            )
        )
    # What people had before this release counts as read: no conversation lights up with
    # its whole history as unread on the day of the upgrade.
    op.execute(
        "UPDATE conversation_participants SET last_read_message_id = COALESCE("
        "(SELECT MAX(chat_messages.id) FROM chat_messages"
        " WHERE chat_messages.conversation_id = conversation_participants.conversation_id), 0)"
    )


def downgrade():
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.drop_column("last_read_message_id")
