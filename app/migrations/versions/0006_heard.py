"""voice_heard: who has heard which voice message; users.voice_speed

Revision ID: 0006_heard
Revises: 0004_admin_and_invites
Create Date: 2026-11-25 20:10:00

Expand-only: a new table and a nullable column; the previous release ignores both.
Voice messages sent before this release count as heard by every recipient, so nobody
finds a dot on every old message after the upgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_heard"
down_revision = "0004_admin_and_invites"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voice_heard",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("heard_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("message_id", "user_id"),
    )
    op.create_index("ix_voice_heard_user_id", "voice_heard", ["user_id"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("voice_speed", sa.Float(), nullable=True))
    op.execute(
        "INSERT INTO voice_heard (message_id, user_id, heard_at)"
        " SELECT m.id, p.user_id, m.created_at FROM chat_messages m"
        " JOIN conversation_participants p ON p.conversation_id = m.conversation_id"
        " WHERE m.type = 'audio' AND p.user_id != m.sender_id"
    )


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("voice_speed")
    op.drop_index("ix_voice_heard_user_id", table_name="voice_heard")
    op.drop_table("voice_heard")
