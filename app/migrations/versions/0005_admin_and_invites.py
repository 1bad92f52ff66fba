"""users: is_admin, disabled_at; invites; site_settings (registration mode at runtime)

Revision ID: 0004_admin_and_invites
Revises: 0004
Create Date: 2026-11-25 17:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_admin_and_invites'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Expand only: new nullable/defaulted columns and new tables; the previous release
    # keeps working against this schema.
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(
            sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))
    op.create_table(
        'invites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=False),
        sa.Column('uses_left', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_table(
        'site_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade():
    op.drop_table('site_settings')
    op.drop_table('invites')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('disabled_at')
        batch_op.drop_column('is_admin')
