"""The site's point as plain numbers: sites.lon, sites.lat (ST_X/ST_Y of geom) and sites.lon_strip (its strip of
longitude), kept equal by triggers on both databases (scouting/db.py), and the narrow index ix_sites_point, so a
search reads its box, filters and page from index entries instead of one wide row per spatial-index hit.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from scouting.db import LON_STRIPS_PER_DEGREE, drop_point_trigger_ddl, point_trigger_ddl

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX_COLUMNS = ["lon_strip", "lat", "lon", "deleted_at", "genre_mask", "terrain_mask", "facility_mask", "facility_verified_mask",
                 "elevation_m", "base_id", "id"]


def upgrade():
    op.add_column("sites", sa.Column("lon", sa.Float()))
    op.add_column("sites", sa.Column("lat", sa.Float()))
    op.add_column("sites", sa.Column("lon_strip", sa.Integer()))
    op.execute(f"UPDATE sites SET lon = ST_X(geom), lat = ST_Y(geom), "
               f"lon_strip = CAST(floor(ST_X(geom) * {LON_STRIPS_PER_DEGREE}) AS INTEGER)")
    for statement in point_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.create_index("ix_sites_point", "sites", INDEX_COLUMNS)


def downgrade():
    op.drop_index("ix_sites_point", "sites")
    for statement in drop_point_trigger_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    # SQLite (3.35+) and PostgreSQL both drop a column in place (a batch copy would rebuild the spatial table).
    op.drop_column("sites", "lon_strip")
    op.drop_column("sites", "lat")
    op.drop_column("sites", "lon")
