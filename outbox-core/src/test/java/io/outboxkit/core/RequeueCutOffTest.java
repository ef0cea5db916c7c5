package io.outboxkit.core;

import static org.awaitility.Awaitility.await;

import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.TcpProxy;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An operator's requeue whose machine is cut off from the database while a batch runs (a VPN that
 * drops, a laptop closed, its host lost). Unlike a process killed on a live host, nobody closes its
 * connection: PostgreSQL keeps the session, idle in its batch's transaction, with the rows the batch
 * locked, until TCP keepalive gives up on it (about two hours by default). README: a requeue "never
 * holds up the relays' own records for long however many messages it requeues"; GUARANTEES: "it ...
 * holds its locks only for a batch".
 */
class RequeueCutOffTest {

    private static final String OPERATOR = "cut-off-operator";

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createTables, 6);

    @Test
    void the_messages_a_cut_off_requeue_had_locked_are_still_delivered_soon() throws Exception {
        List<UUID> pending = Outbox.write(db.jdbi(), 5, 2); // not delivered yet: no relay has run
        // The operator's batch takes a moment, as on a large table, so that its network can go while it runs.
        db.jdbi().useHandle(h -> {
            h.execute("CREATE FUNCTION slow_for_the_operator() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "IF current_setting('application_name') = '" + OPERATOR + "' THEN PERFORM pg_sleep(2); END IF; "
                    + "RETURN NULL; END $$");
            h.execute("CREATE TRIGGER slow_for_the_operator BEFORE UPDATE ON outbox FOR EACH STATEMENT "
                    + "EXECUTE FUNCTION slow_for_the_operator()");
        });
        int port = URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort();
        try (TcpProxy network = new TcpProxy(port)) {
            Properties login = db.login();
            login.setProperty("ApplicationName", OPERATOR);
            OutboxAdmin operator = OutboxAdmin.create(Jdbi.create(network.uri(db.jdbcUrl()), login));
            Thread requeue = new Thread(() -> {
                try {
                    operator.requeueSince(Instant.now().minusSeconds(3600));
                } catch (RequeueException cutOff) {
                    // what its operator sees once the network is back, if ever: not what this test is about
                }
            }, OPERATOR);
            requeue.setDaemon(true);
            requeue.start();
            await("the operator's batch running").atMost(Duration.ofSeconds(30)).until(() -> operatorIs("active"));
            network.freeze(); // cut off: nothing more passes either way, and no connection is closed
            await("the batch done on the server, its commit never coming").atMost(Duration.ofSeconds(30))
                    .until(() -> operatorIs("idle in transaction"));

            RecordingPublisher publisher = new RecordingPublisher();
            try (OutboxPoller relay = OutboxPoller.builder(db.jdbi(), publisher).pollInterval(Duration.ofMillis(100))
                    .build()) {
                relay.start();
                await("the " + pending.size() + " pending messages delivered by a relay while the cut-off requeue's "
                        + "session lingers").atMost(Duration.ofSeconds(30))
                        .until(() -> publisher.deliveredCount() == pending.size());
            }
        }
    }

    private static boolean operatorIs(String state) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        + "current_database() AND application_name = :app AND state = :state")
                .bind("app", OPERATOR).bind("state", state).mapTo(Long.class).one()) > 0;
    }
}
