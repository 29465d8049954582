"""What every table shares: the one `metadata`, its naming convention, the column types."""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer, MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


metadata = MetaData(naming_convention=NAMING_CONVENTION)

Timestamp = DateTime(timezone=True)
Money = BigInteger().with_variant(Integer(), "sqlite")
AutoId = BigInteger().with_variant(Integer(), "sqlite")
