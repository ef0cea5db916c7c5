-- outboxkit schema, version 2: DEAD messages found without reading the table.
-- Counting them (the outbox_messages{status="dead"} gauge, scraped every few seconds), listing
-- them and requeueing them then read this index, which holds only DEAD rows (normally none),
-- instead of every row of the outbox. A row enters it only when it goes DEAD: the write path and
-- the lease claim (which changes no indexed column, so stays a HOT update) are unchanged.
CREATE INDEX IF NOT EXISTS "${outbox_table}_dead_seq" ON ${outbox} (seq) WHERE status = 'DEAD';
