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
        assertThat(poller.name()).isNotBlank();
        assertThat(poller.isRunning()).isFalse();
    }

    @Test
    void every_invalid_option_is_refused_with_its_name() {
        assertThatThrownBy(() -> builder().batchSize(0).build()).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> builder().batchSize(10_001).build()).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> builder().pollInterval(Duration.ZERO).build()).hasMessageContaining("pollInterval");
        assertThatThrownBy(() -> builder().lease(Duration.ofMillis(-1)).build()).hasMessageContaining("lease");
        assertThatThrownBy(() -> builder().maxAttempts(0).build()).hasMessageContaining("maxAttempts");
        assertThatThrownBy(() -> builder().backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .hasMessageContaining("max backoff");
        assertThatThrownBy(() -> builder().jitter(1.5).build()).hasMessageContaining("jitter");
        assertThatThrownBy(() -> builder().name(" ").build()).hasMessageContaining("name");
        assertThatThrownBy(() -> builder().workers(0).build()).hasMessageContaining("workers");
        assertThatThrownBy(() -> builder().workers(65).build()).hasMessageContaining("workers");
        assertThatThrownBy(() -> builder().statementTimeout(Duration.ZERO).build()).hasMessageContaining("statementTimeout");
        assertThatThrownBy(() -> builder().statementTimeout(Duration.ofDays(25)).build())
                .hasMessageContaining("statementTimeout must be at most 2147483647 ms");
        assertThatThrownBy(() -> builder().lease(Duration.ofSeconds(Long.MAX_VALUE)).statementTimeout(null).build())
                .hasMessageContaining("statementTimeout");
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
