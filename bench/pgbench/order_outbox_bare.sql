-- pgbench's bare ceiling for the write path (issue 20, target 1): the same order row and the same
-- outbox row as POST /orders (order-service's Orders.create and OutboxWriter.write), in one
-- transaction, into the library's table with all its indexes, but run with the outbox's NOTIFY
-- trigger disabled: what "just inserting the row" costs. The outbox id is time-ordered like the
-- writer's UUIDv7 (48 bits of milliseconds first), so its primary-key insert lands at the index's
-- right edge as the writer's does.
\set user random(1, 1000)
\set cents random(1, 1000000)
BEGIN;
INSERT INTO orders (id, user_id, amount, status)
  VALUES (gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(:user::text, 12, '0'))::uuid, :cents / 100.0, 'CREATED')
  RETURNING id, user_id, amount, status, created_at \gset o_
INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
  VALUES (encode(overlay(uuid_send(gen_random_uuid())
                         PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                         FROM 1 FOR 6), 'hex')::uuid,
          'Order', :o_id, 'OrderCreated',
          ('{"order_id":"' || :o_id || '","user_id":"' || :o_user_id || '","amount":' || :o_amount
           || ',"status":"CREATED","created_at":"2026-11-26T15:00:00.123456Z"}')::jsonb,
          '{}'::jsonb);
END;
