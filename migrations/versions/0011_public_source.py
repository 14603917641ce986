"""Public source phrases: a short, plain sentence per language saying where a site's position and facts come
from, for the public panel (coord_source and facts_source stay the staff's full notes).

The columns start empty (the panel then says the source is not yet written up for the public); on a database seeded
before, `flask --app app load-geodata` writes the seed sites' phrases, each as a revision like any other change.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("sites", sa.Column("source_public_zh", sa.Text()))
    op.add_column("sites", sa.Column("source_public_en", sa.Text()))


def downgrade():
    # SQLite (3.35+) and PostgreSQL both drop a column in place (a batch copy would rebuild the spatial table).
    op.drop_column("sites", "source_public_en")
    op.drop_column("sites", "source_public_zh")
