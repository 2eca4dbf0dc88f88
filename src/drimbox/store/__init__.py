"""Persistence: SQLAlchemy 2 models and Alembic migrations (SQLite default, PostgreSQL option)."""
