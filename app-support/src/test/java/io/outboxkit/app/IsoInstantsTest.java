package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** An instant reads as {@link Instant#parse} reads it, whatever the text. */
class IsoInstantsTest {

    @Test
    void every_instant_reads_back_from_what_its_toString_writes() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long last = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
        for (int i = 0; i < 20_000; i++) {
            // whole seconds, milliseconds, microseconds and nanoseconds: each length of fraction toString writes
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> random.nextInt(1_000) * 1_000_000;
                case 2 -> random.nextInt(1_000_000) * 1_000;
                default -> random.nextInt(1_000_000_000);
            };
            Instant instant = Instant.ofEpochSecond(random.nextLong(0, last + 1), nanos);

            assertThat(IsoInstants.parse(instant.toString())).isEqualTo(instant);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"2026-11-26T15:00:00Z", "2026-11-26T15:00:00.1Z", "2026-11-26T15:00:00.123456789Z",
            "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "2024-02-29T12:00:00Z", "2026-11-26t15:00:00z",
            "+10000-01-01T00:00:00Z", "2026-11-26T15:00:00+01:00", "2026-12-31T23:59:60Z",
            "2026-11-26T24:00:00Z", "2026-11-26T15:00:00.Z"})
    void any_text_instant_parse_takes_reads_as_it_does(String text) {
        assertThat(IsoInstants.parse(text)).isEqualTo(Instant.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "2026-11-26", "2026-11-26T15:00:00", "2026-11-26 15:00:00Z", "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-26T15:60:00Z", "2026-11-26T15:00:00.1234567890Z",
            "2026-11-26T15:00:0aZ", "２026-11-26T15:00:00Z", "2026-11-26T15:00:00.12345678９Z", "-001-01-01T00:00:00Z"})
    void any_text_instant_parse_refuses_is_refused_the_same_way(String text) {
        assertThatThrownBy(() -> Instant.parse(text)).isInstanceOf(DateTimeParseException.class);

        assertThatThrownBy(() -> IsoInstants.parse(text)).isInstanceOf(DateTimeParseException.class);
    }
}
