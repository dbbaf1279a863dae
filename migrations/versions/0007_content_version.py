"""Each consortium keeps a content version, and each render the key of the content it shows

Revision ID: 0007_content_version
Revises: 0006_revision_visible_chars
Create Date: 2026-12-07 13:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_content_version'
down_revision = '0006_revision_visible_chars'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('dossier_renders', schema=None) as batch_op:
        # Renders made before have no key: the next request renders again, once.
        batch_op.add_column(sa.Column('content_key', sa.String(length=120), nullable=True))
        batch_op.create_index('ix_dossier_renders_consortium_content', ['consortium_id', 'content_key'])


def downgrade():
    with op.batch_alter_table('dossier_renders', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_renders_consortium_content')
        batch_op.drop_column('content_key')
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.drop_column('content_version')
