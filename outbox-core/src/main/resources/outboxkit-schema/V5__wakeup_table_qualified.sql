-- outboxkit schema, version 5: the trigger finds the wake-up table whatever the writer's search_path.
-- Versions 3 and 4 named the wake-up table as the migrating process spelt it: unqualified when that
-- process reached the outbox through its connection's current schema, so the trigger looked it up in
-- each writer's search_path. A writer naming the schema instead (OutboxNames.inSchema) failed with
-- "relation ... does not exist", and a writer with another table of that name on its search_path
-- (a temporary one included) read that one. The name is resolved here, once, and written qualified
-- into the function: the trigger runs in every business transaction that writes a message, so it
-- takes neither a search_path setting of its own nor dynamic SQL, and costs what it did.
-- Version 3's lock is carried over as the trigger names it now, not re-filled from this process's
-- spelling of the outbox: pollers older than version 4 announce on the name version 3 wrote.
DO $migrate$
DECLARE
    version_3_lock text := (SELECT substring(p.prosrc FROM $re$hashtextextended[(]([^,]*), 0[)]$re$)
                            FROM pg_proc p WHERE p.oid = to_regprocedure('${notify_function}()'));
BEGIN
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION ${notify_function}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    -- The wake-up table below was qualified by its schema when schema version 5 was applied.
    PERFORM pg_advisory_xact_lock_shared(${wakeup_lock_class}, TG_RELID::integer);
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(%1$s, 0));
    IF current_setting('transaction_isolation') <> 'read committed'
       OR EXISTS (SELECT 1 FROM %2$s WHERE waiting_until > now()) THEN
        PERFORM pg_notify('${channel}', '');
    END IF;
    RETURN NULL;
END;
$body$
$function$, coalesce(version_3_lock, quote_literal(${wakeup_lock})),
       (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = '${wakeup}'::regclass));
END;
$migrate$;
