-- An application's own first migration, applied by its own Flyway into flyway_schema_history.
CREATE TABLE accounts (id uuid PRIMARY KEY, balance numeric NOT NULL);
