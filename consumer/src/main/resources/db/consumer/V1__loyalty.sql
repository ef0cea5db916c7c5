-- consumer (the loyalty service): its view of customers and orders, built only from events.
CREATE TABLE customer_totals (
    user_id      uuid          PRIMARY KEY,
    order_count  bigint        NOT NULL DEFAULT 0,
    total_amount numeric(14,2) NOT NULL DEFAULT 0
);

CREATE TABLE consumer_order_status (
    order_id      uuid        PRIMARY KEY,
    user_id       uuid,
    status        text        NOT NULL,
    last_seq      bigint,     -- the outbox seq of the last event applied: detects out-of-order delivery
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Each event applied out of write order for its aggregate is recorded here; the tests expect none.
CREATE TABLE consumer_ordering_violations (
    message_id    uuid        PRIMARY KEY,
    order_id      uuid        NOT NULL,
    seq           bigint      NOT NULL,
    previous_seq  bigint      NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
