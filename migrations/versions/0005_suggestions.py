"""Suggestions from outside the staff, waiting for review.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True),
        sa.Column("lon", sa.Float()),
        sa.Column("lat", sa.Float()),
        sa.Column("name", sa.String(200)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("suggester_name", sa.String(100)),
        sa.Column("suggester_contact", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text()),
        sa.Column("reviewed_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    )


def downgrade():
    op.drop_table("suggestions")
