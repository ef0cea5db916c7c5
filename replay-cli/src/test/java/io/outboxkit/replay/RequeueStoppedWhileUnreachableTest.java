package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SlowUpdates;
import io.outboxkit.testing.TcpProxy;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The moment an operator presses Ctrl-C on a requeue is when it seems stuck: the database has gone
 * silent (a network partition). README: "A requeue that stops prints one line ... saying how many it
 * requeued, that the rest were not, and the command that requeues the rest".
 */
class RequeueStoppedWhileUnreachableTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createBoth, 4);

    @BeforeEach
    void emptyOutbox() {
        db.truncateAll();
    }

    @AfterEach
    void fastUpdates() {
        SlowUpdates.remove(db.jdbi(), "outbox");
    }

    @Test
    void a_requeue_stopped_while_the_database_is_silent_still_says_how_many_it_requeued() throws Exception {
        Outbox.writeMany(db, OutboxAdmin.REQUEUE_BATCH + 1, "DEAD");
        SlowUpdates.of(db.jdbi(), "outbox", 2, Duration.ofMinutes(2));
        int port = URI.create(db.jdbcUrl().substring("jdbc:".length())).getPort();
        try (TcpProxy proxy = new TcpProxy(port)) {
            Map<String, String> env = TestDatabases.env(db);
            env.put("DB_URL", proxy.uri(db.jdbcUrl()));
            try (ChildJvm requeue = ChildJvm.start(ReplayCli.class.getName(), env, List.of(), "requeue", "--dead")) {
                Instant deadline = Instant.now().plusSeconds(30);
                while (SlowUpdates.sleeping(db.jdbi()) == 0) {
                    assertThat(Instant.now()).as("the second batch is running; output: %s", requeue.output())
                            .isBefore(deadline);
                    Thread.onSpinWait();
                }
                proxy.freeze(); // the database goes silent while the second batch runs

                long stopping = System.nanoTime();
                int status = requeue.stop(Duration.ofSeconds(60));
                Duration took = Duration.ofNanos(System.nanoTime() - stopping);

                assertThat(requeue.output()).as("what the requeue printed, stopped (status %s) in %s ms", status,
                                took.toMillis())
                        .contains(OutboxAdmin.REQUEUE_BATCH + " messages were requeued before it");
            }
        }
    }
}
