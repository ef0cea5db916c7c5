package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** A requeue's "since" as a person gives it, to replay-cli or the console; "now" is the database's. */
class SinceTimeTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

    @ParameterizedTest
    @CsvSource({
            "90s, 2026-11-26T11:58:30Z",
            "15m, 2026-11-26T11:45:00Z",
            "2h, 2026-11-26T10:00:00Z",
            "1d, 2026-11-25T12:00:00Z",
            "2026-11-26T10:00:00Z, 2026-11-26T10:00:00Z",
            "2026-11-26T11:00:00+01:00, 2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.250Z, 2026-11-26T10:00:00.250Z",
            "2026-11-26T12:00:00Z, 2026-11-26T12:00:00Z"})
    void reads_an_iso_time_or_a_span_ago(String text, Instant expected) {
        assertThat(SinceTime.parse(text).at(NOW)).isEqualTo(expected);
    }

    @Test
    void a_span_counts_from_the_current_second() {
        assertThat(SinceTime.parse("15m").at(NOW.plusMillis(750))).isEqualTo(Instant.parse("2026-11-26T11:45:00Z"));
    }

    @Test
    void the_longest_span_reaches_far_before_any_message_without_overflowing() {
        assertThat(SinceTime.parse("999999999d").at(NOW)).isEqualTo(NOW.minus(Duration.ofDays(999_999_999)))
                .isBefore(Instant.parse("-1000000-01-01T00:00:00Z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "15", "m", "-1h", "2026-11-26", "yesterday", "1w", "1234567890s"})
    void refuses_anything_else_with_an_example_of_what_works(String text) {
        assertThatThrownBy(() -> SinceTime.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + text + "' is not a time")
                .hasMessageContaining("2026-11-26T10:00:00Z")
                .hasMessageContaining("15m");
    }

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-26T12:00:01Z", "+584556019-04-03T14:25:52Z", "+300000-01-01T00:00:00Z"})
    void refuses_a_time_after_the_databases_now_since_no_message_was_written_then(String text) {
        SinceTime since = SinceTime.parse(text);

        assertThatThrownBy(() -> since.at(NOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("'" + text + "' is in the future (the database's time is 2026-11-26T12:00:00Z): "
                        + "no message was written since then");
    }

    @Test
    void a_span_is_counted_from_the_now_it_is_given_not_from_when_it_was_read() {
        SinceTime since = SinceTime.parse("15m");

        assertThat(since.at(NOW)).isEqualTo(Instant.parse("2026-11-26T11:45:00Z"));
        assertThat(since.at(NOW.plusSeconds(120))).isEqualTo(Instant.parse("2026-11-26T11:47:00Z"));
    }

    @Test
    void a_long_text_is_quoted_shortened() {
        assertThatThrownBy(() -> SinceTime.parse("x".repeat(500)))
                .hasMessageStartingWith("'" + "x".repeat(60) + "...' is not a time");
    }
}
