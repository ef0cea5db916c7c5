-- outboxkit's tables: everything outbox-core reads and writes, and nothing else.
-- Every name below comes from the application's OutboxNames (see OutboxSchema), filled in by
-- OutboxMigrations (Flyway), or printed with the names filled in for another migration tool.
${create_schema}
-- One row per message. A row is written in the producer's business transaction and then moves
-- PENDING -> PUBLISHED, or PENDING -> DEAD after max attempts (an operator may requeue it).
CREATE TABLE ${outbox} (
    id             uuid        PRIMARY KEY,                 -- UUIDv7 chosen by the writer: unique across services
    seq            bigint      GENERATED ALWAYS AS IDENTITY, -- write order; orders an aggregate's messages
    aggregate_type text        NOT NULL CHECK (aggregate_type <> ''),
    aggregate_id   text        NOT NULL CHECK (aggregate_id <> ''),
    event_type     text        NOT NULL CHECK (event_type <> ''),
    payload        jsonb       NOT NULL,
    headers        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    available_at   timestamptz NOT NULL DEFAULT now(),     -- not claimed before (delay, retry backoff)
    status         text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'PUBLISHED', 'DEAD')),
    attempts       integer     NOT NULL DEFAULT 0,         -- deliveries started
    last_error     text,
    locked_by      text,                                   -- the poller holding the lease
    locked_until   timestamptz,                            -- lease end: after it, another poller may claim
    published_at   timestamptz
)
-- A lease claim rewrites each row once, in none of its indexed columns: with room left on the
-- row's page, PostgreSQL rewrites it in place (a HOT update) and adds no index entry.
WITH (fillfactor = 45);

CREATE UNIQUE INDEX "${outbox_table}_seq_key" ON ${outbox} (seq);
-- The claim: pending messages in write order.
CREATE INDEX "${outbox_table}_pending_seq" ON ${outbox} (seq) WHERE status = 'PENDING';
-- Ordering per aggregate: "is an earlier message of this aggregate still undelivered?"
CREATE INDEX "${outbox_table}_undelivered_aggregate" ON ${outbox} (aggregate_type, aggregate_id, seq)
    WHERE status <> 'PUBLISHED';
-- Retention of delivered messages.
CREATE INDEX "${outbox_table}_published_at" ON ${outbox} (published_at) WHERE status = 'PUBLISHED';

-- Wakes idle pollers at commit. PostgreSQL folds identical notifications of one transaction into
-- one, so a transaction that writes many messages sends a single NOTIFY.
CREATE FUNCTION ${notify_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('${channel}', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER "${outbox_table}_notify_on_insert"
    AFTER INSERT ON ${outbox}
    FOR EACH STATEMENT EXECUTE FUNCTION ${notify_function}();

-- What each consumer has processed. The row commits in the same transaction as the consumer's
-- effect, so a redelivered message is recognised and skipped.
CREATE TABLE ${processed} (
    consumer     text        NOT NULL,  -- several consumers may share one table
    message_id   uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE INDEX "${processed_table}_processed_at" ON ${processed} (processed_at);
