"""Public source phrases for the themed bases, as the sites have had since 0011: a short, plain phrase per
language saying where a base's position and facts come from, for the public's provenance sentence (coord_source
and facts_source stay the staff's full notes).

The columns start empty (the sentence then says the source is not yet written up for the public); on a database
seeded before, `flask --app app load-geodata` writes the seed bases' phrases.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("themed_bases", sa.Column("source_public_zh", sa.Text()))
    op.add_column("themed_bases", sa.Column("source_public_en", sa.Text()))


def downgrade():
    # SQLite (3.35+) and PostgreSQL both drop a column in place (a batch copy would rebuild the spatial table).
    op.drop_column("themed_bases", "source_public_en")
    op.drop_column("themed_bases", "source_public_zh")
