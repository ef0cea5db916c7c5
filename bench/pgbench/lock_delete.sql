-- pgbench's ceiling for the relay with CLAIM_MODE=lock and RETENTION_PUBLISHED_MS=0 (delete on
-- publish): outbox-core's OutboxSql.lock (ordering per aggregate on) and markPublished(locked,
-- delete), in ONE transaction held open while the batch is delivered (delivery costs nothing here),
-- for a batch of :batch messages (pgbench -D batch=100).
-- The relay's claim is prepared on the server and planned at every execution
-- on index scans only (OutboxSql.planEachTime: force_custom_plan, no sequential or bitmap scan),
-- as pgbench's prepared claim is here.
-- It reads the pending index from its start (see claim_mark.sql for the relay's floor).
BEGIN;
SELECT set_config('idle_in_transaction_session_timeout', '30000ms', true), set_config('statement_timeout', '30000ms', true),
       set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('synchronous_commit', 'off', true),
       set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true) \gset
WITH locked AS (
  SELECT o.id, o.seq, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
         o.headers::text AS headers, o.created_at, o.attempts + 1 AS attempts
  FROM outbox o
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
  FOR UPDATE SKIP LOCKED
)
SELECT coalesce(array_agg(id), '{}') AS ids, count(*) AS n, max(length(payload) + length(headers)) AS width FROM locked \gset
-- A full batch's delete (OutboxSql.markPublished without reportLater), on a generic plan cached
-- per connection (OutboxSql.cachedPlan), as the relay's.
SELECT set_config('plan_cache_mode', 'force_generic_plan', true) \gset
DELETE FROM outbox o
WHERE o.id = ANY(:ids::uuid[]) AND coalesce(o.status, '') = 'PENDING';
COMMIT;
