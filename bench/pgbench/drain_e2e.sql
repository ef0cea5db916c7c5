-- pgbench's ceiling for the drain end to end (issue 20, target 4): per batch of :batch messages
-- (pgbench -D batch=100), the relay's claim and mark (as in claim_mark.sql, with the same
-- settings) and, between them, the consumer's transaction for the batch as consumer's
-- IdempotentHandler.handleAll and LoyaltyStore.applyBatch run it: the processed_messages rows, the
-- customers' totals, the orders' statuses, then a commit that waits for its WAL flush. The HTTP
-- exchange, the JSON and the JVMs cost nothing here. The claim also hands back, as arrays, what
-- the consumer reads from the messages (the payloads' ids, users and amounts, the customers'
-- sums), work the consumer does in Java.
BEGIN;
SELECT set_config('synchronous_commit', 'off', true), set_config('statement_timeout', '30000ms', true),
       set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true) \gset
WITH claimed AS (
  UPDATE outbox o
  SET locked_by = 'pgbench', locked_until = (SELECT clock_timestamp()) + 30000 * interval '1 millisecond', attempts = o.attempts + 1
  WHERE o.id = ANY(ARRAY(
    SELECT o.id FROM outbox o
    WHERE o.status = 'PENDING'
      AND o.available_at <= now()
      AND (o.locked_until IS NULL OR o.locked_until <= now())
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.aggregate_type = o.aggregate_type AND e.aggregate_id = o.aggregate_id
            AND e.seq < o.seq AND e.status <> 'PUBLISHED'
          OFFSET 0)
    ORDER BY o.seq
    LIMIT :batch
    FOR UPDATE SKIP LOCKED))
  RETURNING o.id, o.seq, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
            o.headers::text AS headers, o.created_at, o.attempts,
            (extract(epoch FROM o.locked_until) * 1000000)::bigint AS lease_end
),
messages AS (
  SELECT id, seq, (payload::jsonb ->> 'order_id')::uuid AS order_id, (payload::jsonb ->> 'user_id')::uuid AS user_id,
         (payload::jsonb ->> 'amount')::numeric AS amount
  FROM claimed
),
customers AS (
  SELECT user_id, count(*) AS n, sum(amount) AS amount FROM messages GROUP BY user_id
)
SELECT m.ids, m.seqs, m.order_ids, m.order_users, m.statuses, c.users, c.counts, c.amounts
FROM (SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids, coalesce(array_agg(seq ORDER BY id), '{}') AS seqs,
             coalesce(array_agg(order_id ORDER BY id), '{}') AS order_ids,
             coalesce(array_agg(user_id ORDER BY id), '{}') AS order_users,
             coalesce(array_agg('CREATED'::text), '{}') AS statuses
      FROM messages) m,
     (SELECT coalesce(array_agg(user_id), '{}') AS users, coalesce(array_agg(n), '{}') AS counts,
             coalesce(array_agg(amount), '{}') AS amounts
      FROM customers) c \gset
COMMIT;
-- The consumer's transaction (synchronous_commit as the server's: it waits for its WAL flush).
BEGIN;
INSERT INTO processed_messages (consumer, message_id)
  SELECT 'loyalty', id FROM unnest(:ids::uuid[]) WITH ORDINALITY AS t(id, n) ORDER BY n
  ON CONFLICT DO NOTHING
  RETURNING message_id;
INSERT INTO customer_totals (user_id, order_count, total_amount)
  SELECT t.user_id, t.n, t.amount FROM unnest(:users::uuid[], :counts::bigint[], :amounts::numeric[]) AS t(user_id, n, amount)
  ORDER BY t.user_id
  ON CONFLICT (user_id) DO UPDATE
  SET order_count = customer_totals.order_count + EXCLUDED.order_count,
      total_amount = customer_totals.total_amount + EXCLUDED.total_amount;
INSERT INTO consumer_order_status AS c (order_id, user_id, status, last_seq)
  SELECT t.order_id, t.user_id, t.status, t.seq
  FROM unnest(:order_ids::uuid[], :order_users::uuid[], :statuses::text[], :seqs::bigint[]) AS t(order_id, user_id, status, seq)
  ORDER BY t.order_id
  ON CONFLICT (order_id) DO UPDATE
  SET user_id = COALESCE(c.user_id, EXCLUDED.user_id),
      status = CASE WHEN EXCLUDED.last_seq < c.last_seq THEN c.status ELSE EXCLUDED.status END,
      last_seq = CASE WHEN EXCLUDED.last_seq < c.last_seq THEN c.last_seq
                      ELSE COALESCE(EXCLUDED.last_seq, c.last_seq) END,
      updated_at = now()
  RETURNING c.order_id, c.last_seq;
COMMIT;
BEGIN;
SELECT set_config('synchronous_commit', 'off', true), set_config('statement_timeout', '30000ms', true),
       set_config('plan_cache_mode', 'force_generic_plan', true),
       set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true) \gset
-- A full batch's mark (OutboxSql.markPublished without reportLater), as in claim_mark.sql.
UPDATE outbox o
SET status = 'PUBLISHED', published_at = now(), locked_by = NULL, locked_until = NULL
WHERE o.id = ANY(:ids::uuid[]) AND coalesce(o.status, '') = 'PENDING'
  AND o.locked_by IS NOT NULL
RETURNING o.id;
COMMIT;
