"""users: username_key (case-folded, unique), display_name (+ folded key), locale

Revision ID: 0002_names_and_locale
Revises: 0002
Create Date: 2026-11-25 16:50:00

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0002_names_and_locale'
down_revision = '0002'
branch_labels = None
depends_on = None


def _key(name):
    # The same folding as app.services.accounts.names.username_key, frozen as of this revision.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('username_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('display_name', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('display_name_key', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))

    connection = op.get_bind()
    users = connection.execute(sa.text('SELECT id, username FROM users')).fetchall()
    owners = {}
    for user_id, username in users:
        owners.setdefault(_key(username), []).append(username)
    clashes = [names for names in owners.values() if len(names) > 1]
    if clashes:
        raise RuntimeError(
            'usernames that differ only in case must be renamed before this upgrade: '
            + '; '.join(', '.join(names) for names in clashes)
        )
    for user_id, username in users:
        connection.execute(
            sa.text(
                'UPDATE users SET username_key = :key, display_name = :name,'
                ' display_name_key = :key WHERE id = :id'
            ),
            {'key': _key(username), 'name': username, 'id': user_id},
        )

    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column('username_key', existing_type=sa.String(length=128), nullable=False)
        batch_op.create_unique_constraint('uq_users_username_key', ['username_key'])
        batch_op.create_index('ix_users_display_name_key', ['display_name_key'])


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_index('ix_users_display_name_key')
        batch_op.drop_constraint('uq_users_username_key', type_='unique')
        batch_op.drop_column('locale')
        batch_op.drop_column('display_name_key')
        batch_op.drop_column('display_name')
        batch_op.drop_column('username_key')
