"""The chapters of draft dossiers, laid out one by one and kept for the next draft

Revision ID: 0008_dossier_pieces
Revises: 0007_content_version
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_dossier_pieces'
down_revision = '0007_content_version'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dossier_pieces',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consortium_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('page_count', sa.Integer(), nullable=False),
        sa.Column('front', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['consortium_id'], ['consortia.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['file_id'], ['stored_files.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('consortium_id', 'digest'),
    )


def downgrade():
    op.drop_table('dossier_pieces')
