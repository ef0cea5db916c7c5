-- outboxkit schema, version 4: the wake-up lock is the outbox table's own, however it is named.
-- Version 3 keyed it by the text of the table's name as the migrating process spelt it (qualified
-- by its schema, or not, from a connection whose current schema that is): a poller that
-- spelt it the other way took another lock, so a commit in flight while it went idle went unseen
-- until its poll interval. A writer's trigger now takes a lock keyed by the table's oid, as this
-- release's pollers do (they take version 3's lock only while this function is not installed).
-- Until every poller runs this release, the trigger also takes version 3's lock as version 3 named
-- it, for earlier pollers that spell the table as the migrating process did. Not the other
-- spelling's as well: an unqualified name is every schema's table of that name, so writers to
-- billing.outbox would hold off the pollers of public.outbox.
CREATE OR REPLACE FUNCTION ${notify_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(${wakeup_lock_class}, TG_RELID::integer);
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(${wakeup_lock}, 0));
    IF current_setting('transaction_isolation') <> 'read committed'
       OR EXISTS (SELECT 1 FROM ${wakeup} WHERE waiting_until > now()) THEN
        PERFORM pg_notify('${channel}', '');
    END IF;
    RETURN NULL;
END;
$$;
