"""Site photos.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # A new table only: `sites` is not touched (a batch copy would drop SpatiaLite's geometry registration).
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("ext", sa.String(8), nullable=False),
        sa.Column("original_ext", sa.String(8), nullable=False),
        sa.Column("caption", sa.Text()),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gps_lon", sa.Float()),
        sa.Column("gps_lat", sa.Float()),
        sa.Column("taken_at", sa.DateTime(timezone=True)),
    )


def downgrade():
    op.drop_table("photos")
