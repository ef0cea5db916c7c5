-- This service's own table, in its own Flyway history (flyway_schema_history). The starter applies
-- the outbox's tables after it, in theirs (outbox_schema_history).
CREATE TABLE orders (
    id         uuid          PRIMARY KEY,
    user_id    uuid          NOT NULL,
    amount     numeric(10,2) NOT NULL CHECK (amount > 0),
    status     text          NOT NULL,
    created_at timestamptz   NOT NULL
);
