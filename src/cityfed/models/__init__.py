"""Database tables, the async session factory, query functions and Alembic migrations."""
