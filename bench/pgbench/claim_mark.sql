-- pgbench's ceiling for the relay: the relay's own two statements (outbox-core's OutboxSql.claim with
-- ordering per aggregate on, and markPublished), each its own transaction, for a batch of
-- :batch messages (pgbench -D batch=100). Delivery between them costs nothing here. Like the
-- relay's, neither commit waits for its WAL flush, and each statement is cancelled after 30 s
-- (OutboxSql.planEachTime, with the poller's default statement timeout).
-- The relay's claim is prepared on the server and planned at every execution
-- on index scans only (OutboxSql.planEachTime: force_custom_plan, no sequential or bitmap scan),
-- as pgbench's prepared claim is here.
-- Its mark runs on a generic plan cached per connection (OutboxSql.cachedPlan), as here.
-- The claim reads the pending index from its start, as the relay's does once it has caught up and
-- at least every 10 s; while working through a backlog the relay reads from the lowest position of
-- a batch it claimed a second before (ClaimFloor), past fewer entries of delivered messages.
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
)
SELECT coalesce(array_agg(id), '{}') AS ids, count(*) AS n, max(length(payload) + length(headers)) AS width FROM claimed \gset
COMMIT;
BEGIN;
SELECT set_config('synchronous_commit', 'off', true), set_config('statement_timeout', '30000ms', true),
       set_config('plan_cache_mode', 'force_generic_plan', true),
       set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true) \gset
-- A full batch's mark (OutboxSql.markPublished without reportLater), of the messages still claimed:
-- the relay asks whether a later message was held back only after a partial batch.
UPDATE outbox o
SET status = 'PUBLISHED', published_at = now(), locked_by = NULL, locked_until = NULL
WHERE o.id = ANY(:ids::uuid[]) AND coalesce(o.status, '') = 'PENDING'
  AND o.locked_by IS NOT NULL
RETURNING o.id;
COMMIT;
