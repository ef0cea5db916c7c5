-- outboxkit schema, version 3: a commit notifies only while some poller is waiting for it.
-- A NOTIFY takes a database-wide lock at commit, held through the commit's WAL flush, so notifying
-- commits cannot share a flush. A poller that keeps finding work needs no notification; one about
-- to wait for a notification first announces it here, and only then do commits notify.
--
-- How no commit is missed: a writer's trigger takes this outbox's wake-up lock in shared mode
-- (held to the end of its transaction), then reads the announcement. A poller announces in a
-- statement that takes the same lock exclusively without waiting (it gives up if any writer holds
-- it), then looks for due messages once more before it waits. A writer that took the lock before
-- the announcement has ended by the time the poller holds the lock, so that last look finds its
-- message; a writer that takes the lock after it reads the announcement, and notifies.
-- The announcement lasts twice the poller's poll interval; the poller renews it while it waits.

-- One row: until when some poller is (or was) waiting for a notification.
CREATE TABLE ${wakeup} (
    only_row      boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    waiting_until timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO ${wakeup} DEFAULT VALUES;

-- Replaces version 1's function (same name, same trigger). A writer in REPEATABLE READ or
-- SERIALIZABLE reads with its transaction's first snapshot, which may predate an announcement it
-- waited for on the lock: it always notifies.
CREATE OR REPLACE FUNCTION ${notify_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(${wakeup_lock}, 0));
    IF current_setting('transaction_isolation') <> 'read committed'
       OR EXISTS (SELECT 1 FROM ${wakeup} WHERE waiting_until > now()) THEN
        PERFORM pg_notify('${channel}', '');
    END IF;
    RETURN NULL;
END;
$$;
