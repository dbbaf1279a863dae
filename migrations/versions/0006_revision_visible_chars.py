"""Each revision keeps its visible character count, measured once when it is saved

Revision ID: 0006_revision_visible_chars
Revises: 0005_dossier_and_coordination
Create Date: 2026-12-07 11:15:00

"""
from alembic import op
import sqlalchemy as sa

from app.richtext import visible_length


revision = '0006_revision_visible_chars'
down_revision = '0005_dossier_and_coordination'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('section_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visible_chars', sa.Integer(), nullable=False, server_default='0'))
    # The texts already saved are measured once here, by the same rule as every new save.
    revisions = sa.table(
        'section_revisions', sa.column('id', sa.Integer()), sa.column('content', sa.Text()),
        sa.column('visible_chars', sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(revisions.c.id, revisions.c.content)).all()
    for revision_id, content in rows:
        connection.execute(
            revisions.update().where(revisions.c.id == revision_id).values(visible_chars=visible_length(content or ''))
        )
    with op.batch_alter_table('section_revisions', schema=None) as batch_op:
        batch_op.alter_column('visible_chars', server_default=None)


def downgrade():
    with op.batch_alter_table('section_revisions', schema=None) as batch_op:
        batch_op.drop_column('visible_chars')
