package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

class SinceConverterTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    private final SinceConverter converter = new SinceConverter(Clock.fixed(NOW, ZoneOffset.UTC));

    @ParameterizedTest
    @CsvSource({
            "90s, 2026-11-26T11:58:30Z",
            "15m, 2026-11-26T11:45:00Z",
            "2h, 2026-11-26T10:00:00Z",
            "1d, 2026-11-25T12:00:00Z",
            "2026-11-26T10:00:00Z, 2026-11-26T10:00:00Z",
            "2026-11-26T11:00:00+01:00, 2026-11-26T10:00:00Z",
            "2026-11-26T10:00:00.250Z, 2026-11-26T10:00:00.250Z"})
    void reads_an_iso_time_or_a_span_ago(String text, Instant expected) {
        assertThat(converter.convert(text)).isEqualTo(expected);
    }

    @Test
    void a_span_counts_from_the_current_second() {
        SinceConverter mid = new SinceConverter(Clock.fixed(NOW.plusMillis(750), ZoneOffset.UTC));

        assertThat(mid.convert("15m")).isEqualTo(Instant.parse("2026-11-26T11:45:00Z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage", "15", "m", "-1h", "2026-11-26", "yesterday", "1w"})
    void refuses_anything_else_with_an_example_of_what_works(String text) {
        assertThatThrownBy(() -> converter.convert(text))
                .isInstanceOf(TypeConversionException.class)
                .hasMessageContaining("'" + text + "' is not a time")
                .hasMessageContaining("2026-11-26T10:00:00Z")
                .hasMessageContaining("15m");
    }
}
