package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** --since is read without a clock; a refusal is picocli's, so that it becomes a usage error. */
class SinceConverterTest {

    private final SinceConverter converter = new SinceConverter();

    @Test
    void reads_a_span_to_count_back_from_the_time_it_is_given() {
        assertThat(converter.convert("2h").at(Instant.parse("2026-11-26T12:00:00Z")))
                .isEqualTo(Instant.parse("2026-11-26T10:00:00Z"));
    }

    @Test
    void a_refusal_is_a_type_conversion_error_with_the_reason() {
        assertThatThrownBy(() -> converter.convert("yesterday")).isInstanceOf(TypeConversionException.class)
                .hasMessageContaining("'yesterday' is not a time");
    }
}
