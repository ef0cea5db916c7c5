package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.ChildJvm;
import io.outboxkit.testing.PostgresExtension;
import io.outboxkit.testing.SlowUpdates;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

class RequeueCommandTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(Outbox::createBoth, 4);

    private Cli cli;

    @BeforeEach
    void emptyOutbox() {
        db.truncateAll();
        Outbox.clearNamed(db);
        cli = Cli.against(db);
    }

    @Test
    void requeue_id_puts_one_message_back_to_pending_with_its_attempts_reset() {
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "gave up");
        UUID otherDead = Outbox.write(db);
        Outbox.markDead(db, otherDead, "gave up");

        Cli.Run run = cli.run("requeue", "--id", dead.toString());

        assertThat(run.status()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out()).isEqualToIgnoringNewLines("requeued 1 message in \"outbox\": " + dead);
        assertThat(Outbox.status(db, dead)).isEqualTo("PENDING");
        assertThat(Outbox.attempts(db, dead)).isZero();
        assertThat(Outbox.status(db, otherDead)).isEqualTo("DEAD");
    }

    @Test
    void requeue_id_also_redelivers_a_published_message() {
        UUID published = Outbox.write(db);
        Outbox.markPublished(db, published);

        assertThat(cli.run("requeue", "--id", published.toString()).status()).isZero();

        assertThat(Outbox.status(db, published)).isEqualTo("PENDING");
    }

    @Test
    void requeue_dead_puts_back_every_dead_message_and_nothing_else() {
        UUID dead1 = Outbox.write(db);
        UUID dead2 = Outbox.write(db);
        UUID published = Outbox.write(db);
        Outbox.markDead(db, dead1, "gave up");
        Outbox.markDead(db, dead2, "gave up");
        Outbox.markPublished(db, published);

        Cli.Run run = cli.run("requeue", "--dead");

        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualToIgnoringNewLines("requeued 2 DEAD messages in \"outbox\"");
        assertThat(Outbox.status(db, dead1)).isEqualTo("PENDING");
        assertThat(Outbox.attempts(db, dead2)).isZero();
        assertThat(Outbox.status(db, published)).isEqualTo("PUBLISHED");
    }

    @Test
    void requeue_dead_with_nothing_dead_says_zero() {
        Outbox.write(db);

        Cli.Run run = cli.run("requeue", "--dead");

        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualToIgnoringNewLines("requeued 0 DEAD messages in \"outbox\"");
    }

    @Test
    void requeue_since_a_span_ago_puts_back_the_messages_written_since_whatever_their_status() {
        UUID old = Outbox.write(db);
        Outbox.markPublished(db, old);
        Outbox.age(db, old, 3);
        UUID recentPublished = Outbox.write(db);
        Outbox.markPublished(db, recentPublished);
        UUID recentDead = Outbox.write(db);
        Outbox.markDead(db, recentDead, "gave up");

        Cli.Run run = cli.run("requeue", "--since", "1h");

        assertThat(run.status()).isZero();
        assertThat(run.out()).startsWith("requeued 2 messages in \"outbox\" written since ");
        assertThat(Outbox.status(db, recentPublished)).isEqualTo("PENDING");
        assertThat(Outbox.status(db, recentDead)).isEqualTo("PENDING");
        assertThat(Outbox.status(db, old)).isEqualTo("PUBLISHED");
    }

    @Test
    void requeue_since_an_iso_time() {
        UUID old = Outbox.write(db);
        Outbox.markPublished(db, old);
        Outbox.age(db, old, 48);
        UUID recent = Outbox.write(db);
        Outbox.markPublished(db, recent);
        Instant dayAgo = Instant.now().minus(1, ChronoUnit.DAYS).truncatedTo(ChronoUnit.SECONDS);

        Cli.Run run = cli.run("requeue", "--since", dayAgo.toString());

        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualToIgnoringNewLines("requeued 1 message in \"outbox\" written since " + dayAgo);
        assertThat(Outbox.status(db, recent)).isEqualTo("PENDING");
        assertThat(Outbox.status(db, old)).isEqualTo("PUBLISHED");
    }

    @Test
    void an_unknown_id_is_one_clear_error_line_and_exit_1() {
        UUID unknown = UUID.randomUUID();

        Cli.Run run = cli.run("requeue", "--id", unknown.toString());

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).containsExactly("replay-cli requeue: no message with id " + unknown + " in the outbox");
    }

    @Test
    void the_name_options_requeue_in_the_outbox_they_name_and_wake_its_relays_on_its_own_channel() throws Exception {
        UUID inDefault = Outbox.write(db);
        Outbox.markDead(db, inDefault, "gave up");
        UUID named = Outbox.writeNamed(db);
        db.jdbi().useHandle(h -> h.execute("UPDATE " + Outbox.NAMED.qualifiedOutboxTable()
                + " SET status = 'DEAD' WHERE id = ?", named));

        try (Connection listener = db.dataSource().getConnection(); Statement listen = listener.createStatement()) {
            listen.execute("LISTEN orders_wake");
            listen.execute("LISTEN outbox");

            Cli.Run run = cli.run(Outbox.named("requeue", "--dead"));

            assertThat(run.status()).as(run.err()).isZero();
            assertThat(run.out()).isEqualToIgnoringNewLines("requeued 1 DEAD message in \"messaging\".\"orders_outbox\"");
            assertThat(Outbox.namedStatus(db, named)).isEqualTo("PENDING");
            assertThat(Outbox.status(db, inDefault)).isEqualTo("DEAD");
            PGNotification[] woken = listener.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(woken).extracting(PGNotification::getName).containsExactly("orders_wake");
            listen.execute("UNLISTEN *");
        }
    }

    @Test
    void the_db_options_override_the_environment() {
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "gave up");
        Cli real = Cli.against(db);
        Cli.Run run = real.with("DB_URL", Cli.UNREACHABLE_DB).with("DB_USER", "nobody")
                .run("requeue", "--dead", "--db-url", db.jdbcUrl(), "--db-user", real.env("DB_USER"));

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(Outbox.status(db, dead)).isEqualTo("PENDING");
    }

    @Test
    void a_requeue_since_that_fails_midway_says_how_many_it_requeued_and_the_command_that_requeues_only_the_rest() {
        Outbox.writeMany(db, OutboxAdmin.REQUEUE_BATCH + 1, "PUBLISHED");
        SlowUpdates.of(db.jdbi(), "outbox", 2, OutboxAdmin.REQUEUE_STATEMENT_TIMEOUT.plusSeconds(30));

        Cli.Run run = cli.run("requeue", "--since", "1h");

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(SlowUpdates.sleeping(db.jdbi())).as("nothing of the requeue runs on after it failed").isZero();
        assertThat(run.errLines()).singleElement().asString()
                .contains(OutboxAdmin.REQUEUE_BATCH + " messages were requeued before it")
                .contains("statement_timeout");
        Matcher rest = Pattern.compile("'requeue (--since \\S+ --after \\d+)' requeues the rest").matcher(run.err());
        assertThat(rest.find()).as(run.err()).isTrue();
        SlowUpdates.remove(db.jdbi(), "outbox");

        Cli.Run again = cli.run(("requeue " + rest.group(1)).split(" "));

        assertThat(again.out()).as(again.err()).startsWith("requeued 1 message in \"outbox\" written since ");
        assertThat(countIn("PENDING")).isEqualTo(OutboxAdmin.REQUEUE_BATCH + 1);
        assertThat(cli.run("requeue", "--dead", "--after", "5").status()).as("--after without --since")
                .isEqualTo(ReplayCli.EXIT_USAGE);
    }

    @Test
    void a_failed_requeue_names_its_outbox_and_prints_a_command_for_the_same_outbox_without_a_password()
            throws Exception {
        UUID named = Outbox.writeNamed(db);
        db.jdbi().useHandle(h -> h.execute("UPDATE " + Outbox.NAMED.qualifiedOutboxTable()
                + " SET status = 'DEAD' WHERE id = ?", named));
        String url = db.jdbcUrl();
        String withPassword = url + (url.contains("?") ? "&" : "?") + "password=s3cret";
        Cli.Run failed;
        Cli.Run secret;
        try (Connection holder = db.dataSource().getConnection(); Statement lock = holder.createStatement()) {
            holder.setAutoCommit(false);
            lock.execute("SELECT 1 FROM " + Outbox.NAMED.qualifiedOutboxTable() + " FOR UPDATE");

            failed = cli.run(Outbox.named("requeue", "--dead", "--db-url", url));
            secret = cli.run(Outbox.named("requeue", "--dead", "--db-url", withPassword));
            holder.rollback();
        }

        assertThat(failed.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(failed.err()).contains("could not requeue dead messages in \"messaging\".\"orders_outbox\": ");
        Matcher again = Pattern.compile("'requeue (--dead [^']*)' again requeues those still DEAD").matcher(failed.err());
        assertThat(again.find()).as(failed.err()).isTrue();
        assertThat(secret.err()).doesNotContain("s3cret")
                .contains("'requeue --dead' with the same database and outbox options again requeues those still DEAD");

        String[] pasted = ("requeue " + again.group(1)).split(" ");
        for (int i = 0; i < pasted.length; i++) {
            pasted[i] = pasted[i].replaceAll("^\"(.*)\"$", "$1"); // as the shell takes the quotes off
        }
        Cli.Run run = Cli.against(db).with("DB_URL", Cli.UNREACHABLE_DB).run(pasted);

        assertThat(run.out()).as(run.err()).isEqualToIgnoringNewLines(
                "requeued 1 DEAD message in \"messaging\".\"orders_outbox\"");
        assertThat(Outbox.namedStatus(db, named)).isEqualTo("PENDING");
    }

    @Test
    void a_requeue_whose_process_began_stopping_while_it_opened_the_database_requeues_nothing() {
        UUID dead = Outbox.write(db);
        Outbox.markDead(db, dead, "gave up");
        Shutdown shutdown = new Shutdown();
        shutdown.finished(); // no command to wait for: stop() returns at once
        shutdown.stop();
        java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
        shutdown.cancelOnStop(() -> cancelled.set(true));
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();

        int status = ReplayCli.commandLine(io.outboxkit.app.Env.of(TestDatabases.env(db)), new java.io.PrintWriter(out),
                new java.io.PrintWriter(err), shutdown).execute("requeue", "--dead");

        assertThat(cancelled).as("work registered after the stop began is cancelled at once").isTrue();
        assertThat(status).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(err.toString()).contains("stopped before it began: nothing was requeued");
        assertThat(Outbox.status(db, dead)).isEqualTo("DEAD");
    }

    @Test
    void a_requeue_stopped_by_sigterm_cancels_its_running_batch_in_the_database_and_says_what_it_requeued()
            throws Exception {
        Outbox.writeMany(db, OutboxAdmin.REQUEUE_BATCH + 1, "DEAD");
        SlowUpdates.of(db.jdbi(), "outbox", 2, Duration.ofMinutes(2));
        try (ChildJvm requeue = ChildJvm.start(ReplayCli.class.getName(), TestDatabases.env(db), List.of(),
                "requeue", "--dead")) {
            Instant deadline = Instant.now().plusSeconds(30);
            while (SlowUpdates.sleeping(db.jdbi()) == 0) {
                assertThat(Instant.now()).as("the second batch is running; output: %s", requeue.output()).isBefore(deadline);
                Thread.onSpinWait();
            }

            int status = requeue.stop(Duration.ofSeconds(20));

            assertThat(status).as("the JVM's status for SIGTERM, 128 + 15").isEqualTo(143);

            assertThat(SlowUpdates.sleeping(db.jdbi())).as("the batch running was cancelled with the process").isZero();
            assertThat(requeue.output()).as("exit status %s", status).contains("replay-cli requeue: could not requeue dead messages in \"outbox\": cancelled; "
                    + OutboxAdmin.REQUEUE_BATCH + " messages were requeued before it")
                    .contains("'requeue --dead' again requeues those still DEAD");
        }
        assertThat(countIn("PENDING")).isEqualTo(OutboxAdmin.REQUEUE_BATCH);
        SlowUpdates.remove(db.jdbi(), "outbox");
        assertThat(cli.run("requeue", "--dead").out()).isEqualToIgnoringNewLines("requeued 1 DEAD message in \"outbox\"");
    }

    @AfterEach
    void fastUpdates() {
        SlowUpdates.remove(db.jdbi(), "outbox");
    }

    private static long countIn(String status) {
        return db.jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM outbox WHERE status = :status")
                .bind("status", status).mapTo(Long.class).one());
    }
}
