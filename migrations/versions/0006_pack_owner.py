"""A pack made by a signed-in user belongs to that account.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column with no constraint is a plain ALTER on SQLite too (the users reference is kept by the model).
    op.add_column("packs", sa.Column("owner_id", sa.Integer()))
    op.create_index("ix_packs_owner_id", "packs", ["owner_id"])


def downgrade():
    op.drop_index("ix_packs_owner_id", table_name="packs")
    op.drop_column("packs", "owner_id")
