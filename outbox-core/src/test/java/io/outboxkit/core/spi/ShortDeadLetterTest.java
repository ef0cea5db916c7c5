package io.outboxkit.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ShortDeadLetterTest {

    @Test
    void an_error_is_never_cut_inside_a_surrogate_pair() {
        String error = "x".repeat(ShortDeadLetter.MAX_ERROR_LENGTH - 4) + "\uD83D\uDE00" + "y".repeat(10);

        String cut = ShortDeadLetter.error(error);

        assertThat(cut).isEqualTo("x".repeat(ShortDeadLetter.MAX_ERROR_LENGTH - 4) + "...");
        assertThat(cut.chars().noneMatch(c -> Character.isSurrogate((char) c))).isTrue();
    }

    @Test
    void an_envelope_header_is_kept_only_when_its_value_is_as_short_as_a_readable_envelope_has_it() {
        assertThat(ShortDeadLetter.keeps(TransportHeaders.AGGREGATE_ID, TransportHeaders.MAX_NAME_LENGTH)).isTrue();
        assertThat(ShortDeadLetter.keeps(TransportHeaders.AGGREGATE_ID, TransportHeaders.MAX_NAME_LENGTH + 1)).isFalse();
        assertThat(ShortDeadLetter.keeps("traceparent", 10)).isFalse();
    }

    @Test
    void the_truncated_header_names_at_most_the_first_headers_and_counts_the_rest() {
        List<String> dropped = IntStream.range(0, ShortDeadLetter.MAX_LISTED + 5).mapToObj(i -> "h" + i).toList();

        String truncated = ShortDeadLetter.truncated(true, dropped);

        assertThat(truncated).startsWith("body; headers: h0, h1, ")
                .endsWith("h" + (ShortDeadLetter.MAX_LISTED - 1) + " and 5 more");
        assertThat(ShortDeadLetter.truncated(false, List.of("n".repeat(100_000))))
                .hasSize("headers: ".length() + TransportHeaders.MAX_NAME_LENGTH);
        assertThat(ShortDeadLetter.truncated(false, List.of("a", "b"))).isEqualTo("headers: a, b");
    }
}
