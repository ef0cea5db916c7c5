package io.outboxkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A refused option is named as a value, not only in a sentence: an application reports it in its
 * own names (a variable, a property) without reading the message.
 */
class InvalidOptionExceptionTest {

    private static final Map<String, String> PROPERTIES = Map.of(
            "batchSize", "outboxkit.batch-size",
            "initialBackoff", "outboxkit.backoff.initial",
            "maxBackoff", "outboxkit.backoff.max");

    @Test
    void a_poller_setting_out_of_range_names_the_setting_and_the_type_it_configures() {
        InvalidOptionException refused = catchThrowableOfType(InvalidOptionException.class,
                () -> settings(0, Duration.ofSeconds(1), Duration.ofSeconds(5)));

        assertThat(refused.option()).isEqualTo("batchSize");
        assertThat(refused.builder()).contains("OutboxPoller");
        assertThat(refused).hasMessage("OutboxPoller: batchSize must be 1 to 10000, was 0");
        assertThat(refused.reason()).isEqualTo("batchSize must be 1 to 10000, was 0");
        assertThat(refused.reasonNaming(PROPERTIES::get)).isEqualTo("outboxkit.batch-size must be 1 to 10000, was 0");
    }

    @Test
    void a_rule_between_two_settings_names_both_the_one_at_fault_first() {
        InvalidOptionException refused = catchThrowableOfType(InvalidOptionException.class,
                () -> settings(100, Duration.ofSeconds(5), Duration.ofSeconds(1)));

        assertThat(refused.options()).containsExactly("maxBackoff", "initialBackoff");
        assertThat(refused.option()).isEqualTo("maxBackoff");
        assertThat(refused.reasonNaming(PROPERTIES::get))
                .isEqualTo("outboxkit.backoff.max (PT1S) must not be less than outboxkit.backoff.initial (PT5S)");
    }

    @Test
    void tables_of_one_name_are_refused_naming_the_processed_table_first() {
        InvalidOptionException refused = catchThrowableOfType(InvalidOptionException.class,
                () -> new OutboxNames(null, "events", "events", "outbox"));

        assertThat(refused.builder()).contains("OutboxNames");
        assertThat(refused.options()).containsExactly("processedTable", "outboxTable");
        assertThat(refused.reason()).isEqualTo("outboxTable and processedTable must differ, both were events");
    }

    @Test
    void renaming_changes_the_first_mention_of_a_whole_name_and_leaves_values_and_unmapped_options() {
        InvalidOptionException refused = new InvalidOptionException(null, List.of("deadLetterStream", "stream"),
                "deadLetterStream must differ from stream (stream)");

        assertThat(refused).hasMessage("deadLetterStream must differ from stream (stream)");
        assertThat(refused.builder()).isEmpty();
        assertThat(refused.reasonNaming(Map.of("stream", "NATS_STREAM")::get))
                .isEqualTo("deadLetterStream must differ from NATS_STREAM (stream)");
        assertThat(refused.reasonNaming(option -> null)).isEqualTo(refused.reason());
    }

    @Test
    void a_name_with_a_replacement_pattern_character_is_written_as_it_is() {
        InvalidOptionException refused = new InvalidOptionException("uri", "uri has no host");

        assertThat(refused.reasonNaming(option -> "$uri\\1")).isEqualTo("$uri\\1 has no host");
    }

    @Test
    void a_refusal_names_at_least_one_option() {
        assertThatThrownBy(() -> new InvalidOptionException("OutboxPoller", List.of(), "something is wrong"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one option");
    }

    private static PollerSettings settings(int batchSize, Duration initialBackoff, Duration maxBackoff) {
        return new PollerSettings("poller", OutboxNames.DEFAULT, batchSize, 1, ClaimMode.LEASE, false,
                Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(10), 5, initialBackoff, maxBackoff, 0.2,
                true, true);
    }
}
