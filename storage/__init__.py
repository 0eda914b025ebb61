"""Storage: the only code that knows SQL or DuckDB.

`storage.db` opens connections and applies migrations; each other module owns one
group of tables and names its functions for what they do to the data.
"""
