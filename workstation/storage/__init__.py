"""Persistence: SQLAlchemy models, repositories, migrations, database URL and key handling."""
