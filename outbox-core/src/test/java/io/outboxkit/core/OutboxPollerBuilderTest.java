package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.internal.Backoff;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/** Option validation and backoff arithmetic: no database involved (the Jdbi is never used). */
class OutboxPollerBuilderTest {

    private final Jdbi unusedJdbi = Jdbi.create("jdbc:postgresql://127.0.0.1:1/never-connected");

    @Test
    void defaults_are_the_named_constants() {
        OutboxPoller poller = OutboxPoller.builder(unusedJdbi, m -> { }).build();
        PollerSettings settings = poller.settings();
        assertThat(settings.names()).isEqualTo(OutboxNames.DEFAULT);
        assertThat(settings.batchSize()).isEqualTo(OutboxPoller.DEFAULT_BATCH_SIZE);
        assertThat(settings.workers()).isEqualTo(OutboxPoller.DEFAULT_WORKERS);
        assertThat(settings.claimMode()).isEqualTo(ClaimMode.LEASE);
        assertThat(settings.deleteOnPublish()).isFalse();
        assertThat(settings.pollInterval()).isEqualTo(OutboxPoller.DEFAULT_POLL_INTERVAL);
        assertThat(settings.lease()).isEqualTo(OutboxPoller.DEFAULT_LEASE);
        assertThat(settings.statementTimeout()).isEqualTo(OutboxPoller.DEFAULT_STATEMENT_TIMEOUT);
        assertThat(settings.maxAttempts()).isEqualTo(OutboxPoller.DEFAULT_MAX_ATTEMPTS);
        assertThat(settings.initialBackoff()).isEqualTo(OutboxPoller.DEFAULT_INITIAL_BACKOFF);
        assertThat(settings.maxBackoff()).isEqualTo(OutboxPoller.DEFAULT_MAX_BACKOFF);
        assertThat(settings.jitter()).isEqualTo(OutboxPoller.DEFAULT_JITTER);
        assertThat(settings.orderedByAggregate()).isTrue();
        assertThat(settings.deadMessagesBlockAggregate()).isTrue();
        assertThat(settings.name()).isEqualTo(poller.name()).matches("[^\\s]+-" + ProcessHandle.current().pid() + "-[0-9a-z]+");
        assertThat(poller.isRunning()).isFalse();
        assertThat(OutboxPoller.builder(unusedJdbi, m -> { }).build().name()).as("each poller its own name")
                .isNotEqualTo(poller.name());
    }

    @Test
    void a_setter_called_after_build_changes_nothing_that_was_built() {
        OutboxPoller.Builder builder = builder().batchSize(7).name("first").lease(Duration.ofSeconds(9));
        OutboxPoller built = builder.build();
        PollerSettings before = built.settings();
        builder.batchSize(0).name(" ").lease(Duration.ZERO).workers(3).claimMode(ClaimMode.LOCK)
                .names(OutboxNames.inSchema("elsewhere")).backoff(Duration.ofSeconds(5), Duration.ofSeconds(6));
        assertThat(built.settings()).isEqualTo(before);
        assertThat(built.settings().batchSize()).isEqualTo(7);
        assertThat(built.name()).isEqualTo("first");
        assertThat(built.settings().names()).isEqualTo(OutboxNames.DEFAULT);
        assertThatThrownBy(builder::build).as("the builder's own values are checked when it builds again")
                .hasMessageContaining("name must be 1 to 200 characters");
    }

    @Test
    void a_name_postgresql_cannot_store_as_the_lease_owner_is_refused_at_build() {
        assertThatThrownBy(() -> builder().name("relay\u0000one").build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("name"))
                .hasMessage("OutboxPoller: name must not contain a NUL character (U+0000): PostgreSQL cannot store it");
        assertThatThrownBy(() -> builder().name("relay-\uD83D").build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("name"))
                .hasMessageStartingWith("OutboxPoller: name must not contain a lone UTF-16 surrogate (U+D83D at index 6");
        assertThat(builder().name("relay-\uD83D\uDE00").build().name()).as("a whole character is taken")
                .isEqualTo("relay-\uD83D\uDE00");
    }

    @Test
    void every_invalid_option_is_refused_with_its_name() {
        assertThatThrownBy(() -> builder().batchSize(0).build()).hasMessageContaining("batchSize must be 1 to 10000, was 0");
        assertThatThrownBy(() -> builder().batchSize(10_001).build()).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> builder().pollInterval(Duration.ZERO).build()).hasMessageContaining("pollInterval");
        assertThatThrownBy(() -> builder().lease(Duration.ofMillis(-1)).build()).hasMessageContaining("lease");
        assertThatThrownBy(() -> builder().maxAttempts(0).build()).hasMessageContaining("maxAttempts");
        assertThatThrownBy(() -> builder().backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .hasMessageContaining("maxBackoff").hasMessageContaining("initialBackoff");
        assertThatThrownBy(() -> builder().backoff(null, Duration.ofSeconds(1)).build()).hasMessageContaining("initialBackoff");
        assertThatThrownBy(() -> builder().claimMode(null).build()).hasMessageContaining("claimMode");
        assertThatThrownBy(() -> builder().names(null).build()).hasMessageContaining("names");
        assertThatThrownBy(() -> builder().jitter(1.5).build()).hasMessageContaining("jitter");
        assertThatThrownBy(() -> builder().name(" ").build()).hasMessageContaining("name");
        assertThatThrownBy(() -> builder().workers(0).build()).hasMessageContaining("workers");
        assertThatThrownBy(() -> builder().workers(65).build()).hasMessageContaining("workers");
        assertThatThrownBy(() -> builder().statementTimeout(Duration.ZERO).build()).hasMessageContaining("statementTimeout");
        assertThatThrownBy(() -> builder().statementTimeout(Duration.ofDays(25)).build())
                .hasMessageContaining("statementTimeout must be at most 2147483647 ms");
        assertThatThrownBy(() -> builder().statementTimeout(null).build()).hasMessageContaining("statementTimeout");
    }

    @Test
    void closing_a_poller_that_never_started_does_nothing() {
        OutboxPoller poller = builder().build();

        poller.close();
        poller.close();

        assertThat(poller.isRunning()).isFalse();
    }

    @Test
    void durations_beyond_a_year_are_refused_as_mistakes_before_any_arithmetic_on_them() {
        Duration forever = Duration.ofSeconds(Long.MAX_VALUE);

        assertThatThrownBy(() -> builder().pollInterval(forever).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("pollInterval must be at most PT8760H");
        assertThatThrownBy(() -> builder().lease(forever).build()).hasMessageContaining("lease must be at most");
        assertThatThrownBy(() -> builder().statementTimeout(forever).build())
                .isInstanceOf(InvalidOptionException.class).hasMessageContaining("statementTimeout must be at most");
        assertThatThrownBy(() -> builder().backoff(Duration.ofSeconds(1), forever).build()).hasMessageContaining("maxBackoff");
        assertThat(builder().lease(Duration.ofDays(365)).build().settings().lease()).isEqualTo(Duration.ofDays(365));
    }

    @Test
    void a_lock_mode_lease_is_held_to_what_postgresql_takes_as_an_idle_in_transaction_timeout() {
        assertThatThrownBy(() -> builder().claimMode(ClaimMode.LOCK).lease(Duration.ofDays(25)).build())
                .isInstanceOf(InvalidOptionException.class)
                .hasMessageContaining("lease must be at most 2147483647 ms with claimMode LOCK");
        assertThat(builder().claimMode(ClaimMode.LEASE).lease(Duration.ofDays(25)).build().settings().lease())
                .isEqualTo(Duration.ofDays(25));
    }

    @Test
    void backoff_doubles_from_the_initial_delay_up_to_the_cap() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0);
        assertThat(backoff.delayAfter(1)).isEqualTo(Duration.ofSeconds(1));
        assertThat(backoff.delayAfter(2)).isEqualTo(Duration.ofSeconds(2));
        assertThat(backoff.delayAfter(5)).isEqualTo(Duration.ofSeconds(16));
        assertThat(backoff.delayAfter(6)).isEqualTo(Duration.ofSeconds(30));
        assertThat(backoff.delayAfter(1_000)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void jitter_shortens_a_delay_by_at_most_its_share() {
        Backoff backoff = new Backoff(Duration.ofSeconds(10), Duration.ofSeconds(10), 0.5);
        for (int i = 0; i < 1_000; i++) {
            assertThat(backoff.delayAfter(1)).isBetween(Duration.ofSeconds(5), Duration.ofSeconds(10));
        }
    }

    private OutboxPoller.Builder builder() {
        return OutboxPoller.builder(unusedJdbi, m -> { });
    }
}
