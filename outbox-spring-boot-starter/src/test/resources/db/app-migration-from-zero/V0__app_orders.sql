-- An application whose first migration is version 0: a baseline at 0 would skip it.
CREATE TABLE app_orders (id uuid PRIMARY KEY, status text NOT NULL);
