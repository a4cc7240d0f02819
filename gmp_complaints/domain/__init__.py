"""Business rules as plain Python: no Flask, no SQLAlchemy. Unit-tested on their own."""
