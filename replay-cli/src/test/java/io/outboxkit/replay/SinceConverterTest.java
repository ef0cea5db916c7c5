package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** --since is read on this machine's clock; a refusal is picocli's, so that it becomes a usage error. */
class SinceConverterTest {

    private final SinceConverter converter = new SinceConverter(Clock.fixed(Instant.parse("2026-11-26T12:00:00Z"),
            ZoneOffset.UTC));

    @Test
    void reads_a_span_on_its_clock() {
        assertThat(converter.convert("2h")).isEqualTo(Instant.parse("2026-11-26T10:00:00Z"));
    }

    @Test
    void a_refusal_is_a_type_conversion_error_with_the_reason() {
        assertThatThrownBy(() -> converter.convert("2026-11-27T00:00:00Z")).isInstanceOf(TypeConversionException.class)
                .hasMessageContaining("is in the future");
    }
}
