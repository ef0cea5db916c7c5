-- pgbench's ceiling for the write path: the SQL of POST /orders (order-service's Orders.create and
-- OutboxWriter.write), one order and its OrderCreated event in one transaction. The outbox insert
-- fires the same per-statement NOTIFY trigger as the application's.
\set user random(1, 1000)
\set cents random(1, 1000000)
BEGIN;
INSERT INTO orders (id, user_id, amount, status)
  VALUES (gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(:user::text, 12, '0'))::uuid, :cents / 100.0, 'CREATED')
  RETURNING id, user_id, amount, status, created_at \gset o_
INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
  VALUES (gen_random_uuid(), 'Order', :o_id, 'OrderCreated',
          ('{"order_id":"' || :o_id || '","user_id":"' || :o_user_id || '","amount":' || :o_amount
           || ',"status":"CREATED","created_at":"2026-11-26T15:00:00.123456Z"}')::jsonb,
          '{}'::jsonb);
END;
