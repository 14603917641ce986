"""Alembic environment.  Run through `flask --app app db upgrade`, which hands over the app's engine."""
from alembic import context
from geoalchemy2 import alembic_helpers

from scouting.db import prepare_spatial_database
from scouting.models import Base

config = context.config
engine = config.attributes["engine"]

prepare_spatial_database(engine)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
