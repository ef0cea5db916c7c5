-- The application's own first migration, in its own flyway_schema_history.
CREATE TABLE app_orders (id uuid PRIMARY KEY, status text NOT NULL);
