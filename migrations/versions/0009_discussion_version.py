"""Each consortium keeps a discussion version, moved on by every comment written, resolved or reopened

Revision ID: 0009_discussion_version
Revises: 0008_dossier_pieces
Create Date: 2026-12-08 01:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_discussion_version'
down_revision = '0008_dossier_pieces'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discussion_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('consortia', schema=None) as batch_op:
        batch_op.drop_column('discussion_version')
