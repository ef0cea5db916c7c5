package io.outboxkit.core.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
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
    void an_error_of_at_most_the_longest_length_is_kept_whole_a_longer_one_cut_to_that_length_marker_included() {
        String longest = "x".repeat(ShortDeadLetter.MAX_ERROR_LENGTH);

        assertThat(ShortDeadLetter.error(longest)).isEqualTo(longest);
        assertThat(ShortDeadLetter.error(longest + "y"))
                .isEqualTo("x".repeat(ShortDeadLetter.MAX_ERROR_LENGTH - 3) + "...")
                .hasSize(ShortDeadLetter.MAX_ERROR_LENGTH);
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

    /** One copy the ladder asked the broker to send: the names of the headers kept, and the rest. */
    record Sent(List<String> kept, String error, String truncated, boolean withBody) {
    }

    /** A broker that takes the copies {@code fits} accepts and records every one it was asked to send. */
    private static final class FakeBroker implements ShortDeadLetter.Copy<String, RuntimeException> {
        final List<Sent> asked = new ArrayList<>();
        private final Predicate<Sent> fits;

        FakeBroker(Predicate<Sent> fits) {
            this.fits = fits;
        }

        @Override
        public boolean send(List<ShortDeadLetter.Header<String>> kept, String error, String truncated, boolean withBody) {
            Sent copy = new Sent(kept.stream().map(ShortDeadLetter.Header::name).toList(), error, truncated, withBody);
            asked.add(copy);
            return fits.test(copy);
        }
    }

    /** The ladder with the error cut as most brokers cut it for a short copy. */
    private static boolean send(List<ShortDeadLetter.Header<String>> own, String error, boolean bodyCounts, FakeBroker broker) {
        return ShortDeadLetter.send(own, error, ShortDeadLetter.error(error), bodyCounts, broker);
    }

    private static ShortDeadLetter.Header<String> header(String name, int length) {
        return new ShortDeadLetter.Header<>(name, "v".repeat(length), length);
    }

    private static final List<ShortDeadLetter.Header<String>> OWN = List.of(header(TransportHeaders.ID, 36),
            header(TransportHeaders.AGGREGATE_ID, TransportHeaders.MAX_NAME_LENGTH + 1), header("tenant", 4));

    @Test
    void a_copy_that_fits_is_sent_whole_and_once() {
        FakeBroker broker = new FakeBroker(copy -> true);

        assertThat(send(OWN, "boom", true, broker)).isTrue();

        assertThat(broker.asked).containsExactly(new Sent(List.of("id", "aggregate_id", "tenant"), "boom", null, true));
    }

    @Test
    void a_copy_too_large_goes_without_the_headers_keeps_refuses_and_with_the_error_cut_keeping_its_body() {
        FakeBroker broker = new FakeBroker(copy -> copy.truncated() != null);
        String error = "e".repeat(ShortDeadLetter.MAX_ERROR_LENGTH + 1);

        assertThat(send(OWN, error, true, broker)).isTrue();

        assertThat(broker.asked).hasSize(2);
        assertThat(broker.asked.get(1)).isEqualTo(new Sent(List.of("id"), ShortDeadLetter.error(error),
                "headers: aggregate_id, tenant", true));
    }

    @Test
    void when_the_short_headers_do_not_make_it_fit_the_body_goes_too() {
        FakeBroker broker = new FakeBroker(copy -> !copy.withBody());

        assertThat(send(OWN, "boom", true, broker)).isTrue();

        assertThat(broker.asked).extracting(Sent::truncated)
                .containsExactly(null, "headers: aggregate_id, tenant", "body; headers: aggregate_id, tenant");
        assertThat(broker.asked.get(2).kept()).containsExactly("id");
    }

    @Test
    void a_copy_that_would_be_no_shorter_without_what_it_may_drop_is_not_tried() {
        FakeBroker broker = new FakeBroker(copy -> !copy.withBody());

        assertThat(send(List.of(header(TransportHeaders.ID, 36)), "boom", true, broker)).isTrue();

        assertThat(broker.asked).containsExactly(new Sent(List.of("id"), "boom", null, true),
                new Sent(List.of("id"), "boom", "body", false));
    }

    @Test
    void a_broker_whose_limit_does_not_count_the_body_never_has_it_dropped() {
        FakeBroker broker = new FakeBroker(copy -> false);

        assertThat(send(OWN, "boom", false, broker)).isFalse();

        assertThat(broker.asked).allMatch(Sent::withBody);
        assertThat(broker.asked).extracting(Sent::truncated).noneMatch(t -> t != null && t.startsWith("body"));
    }

    @Test
    void when_not_even_the_envelope_headers_fit_the_last_copy_carries_the_dead_letter_headers_alone() {
        FakeBroker broker = new FakeBroker(copy -> copy.kept().isEmpty());

        assertThat(send(OWN, "boom", true, broker)).isTrue();

        assertThat(broker.asked).hasSize(4);
        assertThat(broker.asked.get(3)).isEqualTo(new Sent(List.of(), "boom",
                "body; headers: id, aggregate_id, tenant", false));
    }

    @Test
    void the_last_copy_for_a_broker_whose_limit_does_not_count_the_body_keeps_it() {
        FakeBroker broker = new FakeBroker(copy -> copy.kept().isEmpty());

        assertThat(send(OWN, "boom", false, broker)).isTrue();

        assertThat(broker.asked).hasSize(3);
        assertThat(broker.asked.get(2)).isEqualTo(new Sent(List.of(), "boom", "headers: id, aggregate_id, tenant", true));
    }

    @Test
    void with_no_envelope_header_kept_there_is_no_last_copy_to_try_and_nothing_is_sent() {
        FakeBroker broker = new FakeBroker(copy -> false);

        assertThat(send(List.of(header("tenant", 4)), "boom", true, broker)).isFalse();

        assertThat(broker.asked).extracting(Sent::truncated).containsExactly(null, "headers: tenant", "body; headers: tenant");
    }
}
