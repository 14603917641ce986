"""Initial schema: themed bases, sites with vocabulary tags, boundaries.

Revision ID: 0001
Revises:
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _position_columns():
    return [
        sa.Column("coord_source", sa.Text(), nullable=False),
        sa.Column("coord_accuracy_m", sa.Integer(), nullable=False),
        sa.Column("position_method", sa.String(20), nullable=False),
    ]


def _point():
    return geoalchemy2.Geometry("POINT", srid=4326, spatial_index=True, nullable=False)


def upgrade():
    op.create_table(
        "themed_bases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("genres", sa.JSON(), nullable=False),
        sa.Column("towns", sa.JSON(), nullable=False),
        sa.Column("description_zh", sa.Text()),
        sa.Column("description_en", sa.Text()),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("area", geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),
        *_position_columns(),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("base_id", sa.Integer(), sa.ForeignKey("themed_bases.id"), index=True),
        sa.Column("geom", _point(), nullable=False),
        sa.Column("elevation_m", sa.Float(), index=True),
        sa.Column("area_m2", sa.Float()),
        sa.Column("best_seasons", sa.JSON(), nullable=False),
        sa.Column("description_zh", sa.Text()),
        sa.Column("description_en", sa.Text()),
        sa.Column("access_notes_zh", sa.Text()),
        sa.Column("access_notes_en", sa.Text()),
        sa.Column("permit_notes", sa.Text()),
        sa.Column("contact_notes", sa.Text()),
        sa.Column("facts_source", sa.Text()),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_position_columns(),
    )
    op.create_table(
        "site_tags",
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("vocabulary", sa.String(16), primary_key=True),
        sa.Column("term", sa.String(40), primary_key=True),
    )
    op.create_index("ix_site_tags_term", "site_tags", ["vocabulary", "term", "site_id"])
    op.create_table(
        "boundaries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("adcode", sa.Integer()),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("geom", geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=True, nullable=False), nullable=False),
    )


def downgrade():
    op.drop_table("boundaries")
    op.drop_index("ix_site_tags_term", table_name="site_tags")
    op.drop_table("site_tags")
    op.drop_table("sites")
    op.drop_table("themed_bases")
