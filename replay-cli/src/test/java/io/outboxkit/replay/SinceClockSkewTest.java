package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.core.OutboxAdmin;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code requeue --since} selects by {@code created_at}, which is the database's clock; an operator's
 * machine (where replay-cli runs) whose clock is a couple of minutes off the database server's must
 * still requeue "every message written since 1m" and accept a time the console showed as a write.
 * So this machine's clock is no input: {@code --since} is read as text, and made an instant on the
 * database's clock once the database is open.
 */
class SinceClockSkewTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply, 4);

    private final Cli cli = Cli.against(db);

    @BeforeEach
    void emptyOutbox() {
        db.truncateAll();
    }

    @Test
    void a_span_ago_counts_from_the_databases_now_so_a_message_written_a_moment_ago_is_requeued() {
        UUID justWritten = Outbox.write(db);
        Outbox.markPublished(db, justWritten);
        Instant before = databaseNow();

        Cli.Run run = cli.run("requeue", "--since", "1m");

        Instant after = databaseNow();
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).as("the message written a moment ago, within the last minute on the database's clock")
                .startsWith("requeued 1 message in \"outbox\" written since ");
        Instant since = Instant.parse(run.out().trim().substring("requeued 1 message in \"outbox\" written since ".length()));
        assertThat(since).as("the database's now, to the second, less a minute")
                .isBetween(before.truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofMinutes(1)),
                        after.minus(Duration.ofMinutes(1)));
        assertThat(Outbox.status(db, justWritten)).isEqualTo("PENDING");
    }

    @Test
    void a_write_time_the_database_recorded_is_not_refused_as_in_the_future() {
        UUID justWritten = Outbox.write(db);
        Outbox.markPublished(db, justWritten);
        Instant written = db.jdbi().withHandle(h -> h.createQuery("SELECT created_at FROM outbox WHERE id = :id")
                .bind("id", justWritten).mapTo(OffsetDateTime.class).one()).toInstant();

        // The time the console shows as "Written", pasted into --since.
        Cli.Run run = cli.run("requeue", "--since", written.toString());

        assertThat(run.status()).as("a message was written at that time, so it is not in the future: " + run.err())
                .isZero();
        assertThat(run.out()).isEqualToIgnoringNewLines("requeued 1 message in \"outbox\" written since " + written);
        assertThat(Outbox.status(db, justWritten)).isEqualTo("PENDING");
    }

    @Test
    void a_time_after_this_machines_clock_is_not_refused_while_the_text_is_read() {
        String twoMinutesAhead = Instant.now().plus(Duration.ofMinutes(2)).toString();

        assertThat(new SinceConverter().convert(twoMinutesAhead)).as("only the database's clock can tell")
                .hasToString(twoMinutesAhead);
    }

    @Test
    void a_time_after_the_databases_now_is_refused_naming_the_databases_time_and_changes_nothing() {
        UUID published = Outbox.write(db);
        Outbox.markPublished(db, published);
        Instant hourAhead = databaseNow().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);

        Cli.Run run = cli.run("requeue", "--since", hourAhead.toString());

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).singleElement().asString()
                .contains("'" + hourAhead + "' is in the future (the database's time is ")
                .contains("no message was written since then");
        assertThat(Outbox.status(db, published)).isEqualTo("PUBLISHED");
    }

    private static Instant databaseNow() {
        return OutboxAdmin.create(db.jdbi()).databaseTime();
    }
}
