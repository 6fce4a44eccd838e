"""The sensing tables: the entities of OGC SensorThings 1.1 and their observations; the
Mosquitto hash of each API key.

See :mod:`cim.ops.sensor_tables`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 13:20:09.321933
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mqtt_hash", sa.String(length=255), nullable=True))
    op.create_table(
        "sta_features",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("feature", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.Column("city_object", sa.String(length=64), nullable=True),
        sa.Column("lon_min", sa.Float(), nullable=True),
        sa.Column("lat_min", sa.Float(), nullable=True),
        sa.Column("lon_max", sa.Float(), nullable=True),
        sa.Column("lat_max", sa.Float(), nullable=True),
        sa.Column("source_location_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_features")),
    )
    with op.batch_alter_table("sta_features", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_features_city_object"), ["city_object"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_features_jurisdiction"), ["jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_features_source_location_id"), ["source_location_id"], unique=False
        )

    op.create_table(
        "sta_locations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("location", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.Column("city_object", sa.String(length=64), nullable=True),
        sa.Column("lon_min", sa.Float(), nullable=True),
        sa.Column("lat_min", sa.Float(), nullable=True),
        sa.Column("lon_max", sa.Float(), nullable=True),
        sa.Column("lat_max", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_locations")),
    )
    with op.batch_alter_table("sta_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_locations_city_object"), ["city_object"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_locations_jurisdiction"), ["jurisdiction"], unique=False
        )

    op.create_table(
        "sta_observed_properties",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_observed_properties")),
    )
    with op.batch_alter_table("sta_observed_properties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_observed_properties_jurisdiction"), ["jurisdiction"], unique=False
        )

    op.create_table(
        "sta_sensors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_sensors")),
    )
    with op.batch_alter_table("sta_sensors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_sensors_jurisdiction"), ["jurisdiction"], unique=False
        )

    op.create_table(
        "sta_things",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.Column("city_object", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_things")),
    )
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_things_city_object"), ["city_object"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_things_jurisdiction"), ["jurisdiction"], unique=False
        )

    op.create_table(
        "sta_datastreams",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measurement", sa.JSON(), nullable=False),
        sa.Column("observed_area", sa.JSON(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "sensor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "observed_property_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.Column("phenomenon_start_us", sa.BigInteger(), nullable=True),
        sa.Column("phenomenon_end_us", sa.BigInteger(), nullable=True),
        sa.Column("result_start_us", sa.BigInteger(), nullable=True),
        sa.Column("result_end_us", sa.BigInteger(), nullable=True),
        sa.Column("latest_observation_id", sa.BigInteger(), nullable=True),
        sa.Column("latest_phenomenon_us", sa.BigInteger(), nullable=True),
        sa.Column("latest_result_number", sa.Float(), nullable=True),
        sa.Column("latest_result_json", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["sta_observed_properties.id"],
            name=op.f("fk_sta_datastreams_observed_property_id_sta_observed_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sta_sensors.id"],
            name=op.f("fk_sta_datastreams_sensor_id_sta_sensors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["sta_things.id"],
            name=op.f("fk_sta_datastreams_thing_id_sta_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_datastreams")),
    )
    with op.batch_alter_table("sta_datastreams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_datastreams_jurisdiction"), ["jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_datastreams_observed_property_id"),
            ["observed_property_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_sta_datastreams_sensor_id"), ["sensor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sta_datastreams_thing_id"), ["thing_id"], unique=False)

    op.create_table(
        "sta_historical_locations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time_us", sa.BigInteger(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["sta_things.id"],
            name=op.f("fk_sta_historical_locations_thing_id_sta_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_historical_locations")),
    )
    with op.batch_alter_table("sta_historical_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_historical_locations_jurisdiction"), ["jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sta_historical_locations_thing_id"), ["thing_id"], unique=False
        )

    op.create_table(
        "sta_thing_locations",
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["sta_locations.id"],
            name=op.f("fk_sta_thing_locations_location_id_sta_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["sta_things.id"],
            name=op.f("fk_sta_thing_locations_thing_id_sta_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thing_id", "location_id", name=op.f("pk_sta_thing_locations")),
    )
    with op.batch_alter_table("sta_thing_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_thing_locations_location_id"), ["location_id"], unique=False
        )

    op.create_table(
        "sta_historical_location_locations",
        sa.Column(
            "historical_location_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["historical_location_id"],
            ["sta_historical_locations.id"],
            name="fk_sta_hl_locations_hl",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["sta_locations.id"],
            name="fk_sta_hl_locations_location",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "historical_location_id",
            "location_id",
            name=op.f("pk_sta_historical_location_locations"),
        ),
    )
    with op.batch_alter_table("sta_historical_location_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_historical_location_locations_location_id"),
            ["location_id"],
            unique=False,
        )

    op.create_table(
        "sta_observations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "datastream_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("phenomenon_us", sa.BigInteger(), nullable=False),
        sa.Column("phenomenon_end_us", sa.BigInteger(), nullable=True),
        sa.Column("result_us", sa.BigInteger(), nullable=True),
        sa.Column("valid_start_us", sa.BigInteger(), nullable=True),
        sa.Column("valid_end_us", sa.BigInteger(), nullable=True),
        sa.Column("result_number", sa.Float(), nullable=True),
        sa.Column("result_text", sa.Text(), nullable=True),
        sa.Column("result_json", sa.JSON(), nullable=True),
        sa.Column("result_quality", sa.JSON(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column(
            "feature_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["datastream_id"],
            ["sta_datastreams.id"],
            name=op.f("fk_sta_observations_datastream_id_sta_datastreams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["sta_features.id"],
            name=op.f("fk_sta_observations_feature_id_sta_features"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_observations")),
        sa.UniqueConstraint(
            "datastream_id", "phenomenon_us", name=op.f("uq_sta_observations_datastream_id")
        ),
    )
    with op.batch_alter_table("sta_observations", schema=None) as batch_op:
        batch_op.create_index("ix_sta_observations_feature_id", ["feature_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("mqtt_hash")
    with op.batch_alter_table("sta_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_sta_observations_feature_id")

    op.drop_table("sta_observations")
    with op.batch_alter_table("sta_historical_location_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_historical_location_locations_location_id"))

    op.drop_table("sta_historical_location_locations")
    with op.batch_alter_table("sta_thing_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_thing_locations_location_id"))

    op.drop_table("sta_thing_locations")
    with op.batch_alter_table("sta_historical_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_historical_locations_thing_id"))
        batch_op.drop_index(batch_op.f("ix_sta_historical_locations_jurisdiction"))

    op.drop_table("sta_historical_locations")
    with op.batch_alter_table("sta_datastreams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_thing_id"))
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_sensor_id"))
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_observed_property_id"))
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_jurisdiction"))

    op.drop_table("sta_datastreams")
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_things_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_sta_things_city_object"))

    op.drop_table("sta_things")
    with op.batch_alter_table("sta_sensors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_sensors_jurisdiction"))

    op.drop_table("sta_sensors")
    with op.batch_alter_table("sta_observed_properties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_observed_properties_jurisdiction"))

    op.drop_table("sta_observed_properties")
    with op.batch_alter_table("sta_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_locations_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_sta_locations_city_object"))

    op.drop_table("sta_locations")
    with op.batch_alter_table("sta_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_features_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_sta_features_city_object"))

    op.drop_table("sta_features")
