-- order-service: its orders and the responses it gave to Idempotency-Key requests.
CREATE TABLE orders (
    id         uuid          PRIMARY KEY,
    user_id    uuid          NOT NULL,
    amount     numeric(10,2) NOT NULL CHECK (amount > 0),
    status     text          NOT NULL CHECK (status IN ('CREATED', 'PAID', 'CANCELLED')),
    created_at timestamptz   NOT NULL DEFAULT now(),
    updated_at timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX orders_user_id ON orders (user_id);

CREATE TABLE idempotency_keys (
    key            text        PRIMARY KEY,
    request_hash   text        NOT NULL,   -- the same key with another request is refused
    response_code  integer     NOT NULL,
    response_body  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
