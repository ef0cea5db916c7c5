-- The service deletes keys past IDEMPOTENCY_KEY_TTL_MS in batches by created_at: without this index
-- each batch would scan the whole table.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
