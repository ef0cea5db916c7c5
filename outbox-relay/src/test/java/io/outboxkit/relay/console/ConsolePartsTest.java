package io.outboxkit.relay.console;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.OutboxEntry;
import io.outboxkit.core.OutboxMessage;
import io.outboxkit.core.PollerStats;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The console's parts that need no server: escaping, JSON text, a message's page, parameters, form tokens, the rate ring, redirects. */
class ConsolePartsTest {

    @Test
    void a_message_whose_payload_nests_deeper_than_jacksons_default_limit_shows_its_payload_and_envelope() {
        // jsonb stores (and the consumer reads) nesting far deeper than Jackson's default 1,000
        String payload = "[".repeat(1500) + "]".repeat(1500);
        OutboxMessage message = new OutboxMessage(UUID.randomUUID(), 1, "Order", "o-1", "OrderCreated", payload,
                Map.of(), Instant.now(), 0);
        OutboxEntry entry = new OutboxEntry(message, MessageStatus.PENDING, null, Instant.now(), null, null, null);

        String page = MessageView.render(entry, new Layout(Assets.onClassPath(), "relay-1", false, new FormTokens()),
                ListParams.DEFAULT_REFRESH).toString();

        assertThat(page).contains("data-field=\"envelope\">{\n  &quot;id&quot; : &quot;" + message.id())
                .contains("data-field=\"payload\">[ [ [").doesNotContain("cannot be shown");
    }

    @Test
    void json_is_indented_with_numbers_as_written_and_cut_where_longer_than_is_shown() {
        assertThat(JsonText.pretty("{\"a\": [1, 100.00, 1e2]}"))
                .isEqualTo("{\n  \"a\" : [ 1, 100.00, 1e2 ]\n}");
        assertThat(JsonText.pretty("{\"a\": ")).as("not JSON: as it is").isEqualTo("{\"a\": ");
        // an object's indentation grows with the square of its depth: 20,000 deep is 400 million spaces
        String deep = JsonText.pretty("{\"a\":".repeat(20_000) + "1" + "}".repeat(20_000));
        assertThat(deep.length()).isEqualTo(JsonText.MAX_SHOWN + "\n… (more not shown)".length());
        assertThat(deep.endsWith("\n… (more not shown)")).isTrue();
    }

    @Test
    void numbers_are_shown_as_jsonb_stores_them() {
        // jsonb's text of [1e-7, 1e2, 1.5e-10, 100.00, -0.0, a 31-digit decimal]: never an exponent
        String stored = "[0.0000001, 100, 0.00000000015, 100.00, -0.0, 123456789012345678901234567890.5]";
        assertThat(JsonText.pretty("{\"a\": " + stored + "}"))
                .isEqualTo("{\n  \"a\" : [ 0.0000001, 100, 0.00000000015, 100.00, -0.0, 123456789012345678901234567890.5 ]\n}");
        assertThat(JsonText.pretty("0.00000000015")).as("a number alone").isEqualTo("0.00000000015");
    }

    @Test
    void a_cut_falling_inside_a_character_of_two_chars_leaves_the_whole_character_out() {
        String before = "a".repeat(JsonText.MAX_SHOWN - 2);
        // indented, the string's quote comes first: the emoji's high surrogate would be the last char shown
        assertThat(JsonText.pretty("\"" + before + "\uD83D\uDE00tail\""))
                .isEqualTo("\"" + before + "\n… (more not shown)");
        // not JSON, shown as it is, cut at the same place
        assertThat(JsonText.pretty("x" + before + "\uD83D\uDE00tail"))
                .isEqualTo("x" + before + "\n… (6 more characters not shown)");
    }

    @Test
    void escape_turns_every_markup_character_into_a_reference() {
        assertThat(Html.escape("<a href=\"x\" title='y'>&</a>"))
                .isEqualTo("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
        assertThat(Html.escape(null)).isEmpty();
        assertThat(new Html().raw("<p").attr("title", "\"><script>").raw(">").text("<b>").toString())
                .isEqualTo("<p title=\"&quot;&gt;&lt;script&gt;\">&lt;b&gt;");
    }

    @Test
    void list_parameters_read_back_from_the_query_string_they_write() {
        ListParams params = ListParams.from(Map.of("status", List.of("DEAD"), "aggregate_id", List.of("a b&c"),
                "order", List.of("oldest"), "after", List.of("42"), "size", List.of("10")), Set.of());

        assertThat(params.status()).isEqualTo(MessageStatus.DEAD);
        assertThat(params.queryString()).isEqualTo("?status=dead&aggregate_id=a+b%26c&order=oldest&after=42&size=10");
        assertThat(params.query().newest()).isFalse();
        assertThat(params.query().after()).isEqualTo(42L);
        assertThat(ListParams.from(Map.of("status", List.of("")), Set.of())).isEqualTo(ListParams.defaults());
        assertThatThrownBy(() -> ListParams.from(Map.of("page", List.of("-1")), Set.of()))
                .hasMessageContaining("unknown parameter \"page\"");
    }

    @Test
    void a_form_token_is_valid_only_as_issued_by_this_process() {
        FormTokens forms = new FormTokens();
        String token = forms.issue();

        assertThat(forms.valid(token)).isTrue();
        assertThat(forms.valid(new FormTokens().issue())).as("another process's").isFalse();
        assertThat(forms.valid(token.substring(1))).isFalse();
        assertThat(forms.valid(null)).isFalse();
        assertThat(forms.valid("%%%")).isFalse();
        assertThat(forms.issue()).as("one per rendering").isNotEqualTo(token);
    }

    @Test
    void the_rate_ring_keeps_each_seconds_growth_and_forgets_beyond_its_capacity() {
        AtomicReference<PollerStats> stats = new AtomicReference<>(new PollerStats(0, 0, 0, 0, 0, 0));
        try (RateSampler sampler = RateSampler.start(stats::get, Duration.ofDays(1), "test")) {
            for (int second = 1; second <= RateSampler.CAPACITY + 5; second++) {
                PollerStats last = stats.get();
                stats.set(new PollerStats(0, last.delivered() + second, last.failed() + 1, 0, 0, 0));
                sampler.sample(1_000 + second);
            }
            RateSampler.Series series = sampler.series();
            assertThat(series.epochSeconds()).hasSize(RateSampler.CAPACITY);
            assertThat(series.epochSeconds()[0]).isEqualTo(1_006);
            assertThat(series.delivered()[0]).isEqualTo(6);
            assertThat(series.delivered()[RateSampler.CAPACITY - 1]).isEqualTo(RateSampler.CAPACITY + 5);
            assertThat(series.failed()).containsOnly(1L);
        }
    }

    @Test
    void login_returns_only_to_a_path_of_this_server() {
        assertThat(LoginView.safeNext("/?status=dead")).isEqualTo("/?status=dead");
        for (String elsewhere : new String[] {"//evil.example/", "https://evil.example/", "/\\evil.example", "", null,
                "/" + "x".repeat(600), "/\nLocation: x"}) {
            assertThat(LoginView.safeNext(elsewhere)).as(String.valueOf(elsewhere)).isEqualTo("/");
        }
    }

    @Test
    void since_reads_a_span_ago_or_a_time() {
        Instant now = Instant.parse("2026-11-26T10:00:30.500Z");
        assertThat(RequeuePages.since("15m", now)).isEqualTo(Instant.parse("2026-11-26T09:45:30Z"));
        assertThat(RequeuePages.since("2026-11-26T11:00:00+01:00", now)).isEqualTo(Instant.parse("2026-11-26T10:00:00Z"));
        assertThatThrownBy(() -> RequeuePages.since("yesterday", now)).isInstanceOf(ConsoleError.class);
        assertThatThrownBy(() -> RequeuePages.since("+584556019-04-03T14:25:52Z", now)).isInstanceOf(ConsoleError.class)
                .hasMessageContaining("is in the future (the database's time is 2026-11-26T10:00:30Z)");
    }

    @Test
    void spans_read_in_their_two_largest_units() {
        assertThat(Durations.span(Duration.ofMillis(850))).isEqualTo("850 ms");
        assertThat(Durations.span(Duration.ofSeconds(192))).isEqualTo("3 min 12 s");
        assertThat(Durations.span(Duration.ofMinutes(125))).isEqualTo("2 h 5 min");
        assertThat(Durations.span(Duration.ofHours(76))).isEqualTo("3 d 4 h");
    }

    @Test
    void a_non_loopback_admin_host_needs_a_token_of_sixteen_characters_or_more() {
        assertThatThrownBy(() -> ConsoleSettings.noToken().checkFor("0.0.0.0")).hasMessageContaining("set ADMIN_TOKEN");
        ConsoleSettings.noToken().checkFor("127.0.0.1");
        ConsoleSettings.noToken().checkFor("localhost");
        new ConsoleSettings("0123456789abcdef").checkFor("0.0.0.0");
        assertThatThrownBy(() -> new ConsoleSettings("0123456789abcde")).hasMessageContaining("at least 16");
        assertThat(new ConsoleSettings("0123456789abcdef").toString()).doesNotContain("0123456789abcdef");
    }
}
