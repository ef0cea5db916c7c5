package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.outboxkit.app.Database;
import io.outboxkit.app.ServiceSchema;
import io.outboxkit.app.observability.Observability;
import io.outboxkit.app.testing.FakeConsumer;
import io.outboxkit.app.testing.TestDatabases;
import io.outboxkit.core.MessageStatus;
import io.outboxkit.core.NewMessage;
import io.outboxkit.core.OutboxNames;
import io.outboxkit.migrations.OutboxMigrations;
import io.outboxkit.relay.console.ConsoleSettings;
import io.outboxkit.testing.PostgresExtension;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;

/**
 * The console in a real browser (headless Chromium), against a real relay, consumer and
 * PostgreSQL. Pages refresh every second ({@code refresh=1}); every wait polls with a deadline.
 * Screenshots: {@code target/console-screenshots/}.
 */
class ConsoleBrowserTest {

    @RegisterExtension
    static final PostgresExtension db = new PostgresExtension(OutboxMigrations::apply);

    static final String TOKEN = "browser-test-token-0123456789";
    static final TestOutbox outbox = new TestOutbox(db);
    /** Aggregate ids the consumer refuses (422) while they are in this set. */
    static final Set<String> refused = ConcurrentHashMap.newKeySet();

    static Database database;
    static FakeConsumer consumer;
    static Relay relay;
    static Chromium chromium;

    @BeforeAll
    static void start() {
        database = TestDatabases.open(db, 8, ServiceSchema.outboxOnly(OutboxNames.DEFAULT));
        consumer = new FakeConsumer();
        consumer.answer(request -> refused.contains(request.envelope().get("aggregate_id").asText())
                ? new FakeConsumer.Reply(422, "{\"error\":\"refused by the test consumer: <b>cannot apply</b>\"}")
                : FakeConsumer.Reply.processed());
        relay = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", "console-browser", "MAX_ATTEMPTS", "2"));
        chromium = Chromium.start();
    }

    @AfterAll
    static void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (relay != null) {
            relay.close();
        }
        consumer.close();
        database.close();
    }

    @Test
    void the_overview_shows_the_counts_of_the_database() {
        String aggregate = "count-" + UUID.randomUUID();
        refused.add(aggregate + "-dead");
        outbox.write(aggregate + "-a", "OrderCreated");
        outbox.write(aggregate + "-b", "OrderCreated");
        outbox.write(aggregate + "-dead", "OrderCreated");
        db.jdbi().useHandle(h -> h.execute("INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, payload, "
                + "available_at) VALUES (?, 'Order', ?, 'OrderLater', '{}', now() + interval '1 hour')",
                UUID.randomUUID(), aggregate + "-later"));
        await().atMost(Duration.ofSeconds(20)).until(() -> count("status = 'PENDING' AND available_at <= now()") == 0);

        open("/?refresh=1");

        chromium.waiting().until(d -> pageCount("pending") == count("status = 'PENDING'")
                && pageCount("dead") == count("status = 'DEAD'")
                && pageCount("published") == count("status = 'PUBLISHED'"));
        assertThat(pageCount("dead")).isGreaterThanOrEqualTo(1);
        assertThat(chromium.driver().findElement(By.cssSelector("#rates canvas")).isDisplayed())
                .as("the chart is drawn").isTrue();
        chromium.screenshot("overview-1280x800");
    }

    @Test
    void a_refused_message_turns_dead_without_a_reload_shows_its_error_and_is_delivered_after_a_requeue() {
        String aggregate = "refuse-" + UUID.randomUUID();
        refused.add(aggregate);
        open("/?status=dead&refresh=1");
        chromium.eval("window.__sameDocument = 'yes'");

        UUID id = outbox.write(aggregate, "OrderPaid");

        WebElement row = chromium.waiting().until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("#messages tr[data-id='" + id + "'][data-status='DEAD']")));
        assertThat(chromium.eval("window.__sameDocument")).as("the table refreshed without a reload").isEqualTo("yes");
        chromium.screenshot("dead-list-1280x800");

        row.findElement(By.cssSelector("td.id a")).click();
        chromium.waiting().until(ExpectedConditions.urlToBe(base() + "/messages/" + id));
        String lastError = chromium.driver().findElement(By.cssSelector("[data-field='last-error']")).getText();
        assertThat(lastError).contains("HTTP 422").contains("refused by the test consumer: <b>cannot apply</b>");
        assertThat(fact("status")).isEqualTo("DEAD");
        chromium.screenshot("message-dead-1280x800");

        refused.remove(aggregate);
        chromium.driver().findElement(By.cssSelector("#message-state button[type='submit']")).click();

        chromium.waiting().until(d -> "PUBLISHED".equals(fact("status")));
        assertThat(outbox.status(id)).isEqualTo(MessageStatus.PUBLISHED);
        assertThat(consumer.received().stream().filter(r -> r.id().equals(id)).count())
                .as("two refused attempts, then the delivery after the requeue").isEqualTo(3);
        chromium.screenshot("message-delivered-1280x800");
        chromium.size(400, 900);
        chromium.screenshot("message-delivered-400");
        open("/?refresh=1");
        chromium.waiting().until(d -> pageCount("published") >= 1);
        chromium.screenshot("overview-400");
        chromium.size(1280, 800);
    }

    @Test
    void requeue_all_dead_shows_how_many_then_requeues_them() {
        String aggregate = "bulk-" + UUID.randomUUID();
        refused.add(aggregate + "-1");
        refused.add(aggregate + "-2");
        UUID first = outbox.write(aggregate + "-1", "OrderCreated");
        UUID second = outbox.write(aggregate + "-2", "OrderCreated");
        await().atMost(Duration.ofSeconds(20)).until(() -> outbox.status(first) == MessageStatus.DEAD
                && outbox.status(second) == MessageStatus.DEAD);
        long dead = count("status = 'DEAD'");
        refused.remove(aggregate + "-1");
        refused.remove(aggregate + "-2");

        open("/?refresh=1");
        chromium.waiting().until(ExpectedConditions.elementToBeClickable(By.cssSelector("a[href='/requeue/dead']"))).click();

        String confirm = chromium.waiting().until(ExpectedConditions.presenceOfElementLocated(
                By.cssSelector("[data-field='confirm']"))).getText();
        assertThat(confirm).contains("Requeue " + dead + " DEAD message");
        assertThat(outbox.status(first)).as("showing the confirmation changed nothing").isEqualTo(MessageStatus.DEAD);
        chromium.screenshot("requeue-dead-confirm-1280x800");
        chromium.driver().findElement(By.cssSelector("form[action='/requeue/dead'] button")).click();

        chromium.waiting().until(ExpectedConditions.textToBePresentInElementLocated(
                By.cssSelector("[data-field='notice']"), "Requeued " + dead));
        await().atMost(Duration.ofSeconds(20)).until(() -> outbox.status(first) == MessageStatus.PUBLISHED
                && outbox.status(second) == MessageStatus.PUBLISHED);
    }

    @Test
    void payloads_headers_and_errors_holding_markup_render_as_text_and_run_no_script() {
        List<String> corpus = List.of(
                "<script>window.__xss='script'</script>",
                "\"><img src=x onerror=\"window.__xss='img'\">",
                "'><svg onload=\"window.__xss='svg'\"></svg>",
                "</pre><iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
                "<a href=\"javascript:window.__xss='href'\">click</a>",
                "' onmouseover='window.__xss=1' x='",
                "<div hx-get=\"/requeue/dead\" hx-trigger=\"load\">htmx</div>",
                "<style>*{display:none}</style><title>pwned</title>",
                "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss='meta'\">",
                "<img src=x onerror=document.title='pwned'>");
        String eventType = "Evt\"><script>window.__xss='event'</script>" + UUID.randomUUID();
        String aggregate = "xss<b>\"'&" + UUID.randomUUID();
        List<NewMessage> messages = new ArrayList<>();
        for (String attack : corpus) {
            String aggregateId = aggregate + "-" + messages.size(); // one each: a DEAD message holds back its aggregate
            refused.add(aggregateId);
            messages.add(NewMessage.of("Order", aggregateId, eventType, "{\"note\":" + jsonString(attack) + "}")
                    .withHeader("h" + messages.size() + attack, attack));
        }
        List<UUID> ids = outbox.writeAll(messages);
        await().atMost(Duration.ofSeconds(30)).until(() -> ids.stream().allMatch(id -> outbox.status(id) == MessageStatus.DEAD));
        String title = "Messages · outbox relay console-browser";

        open("/?refresh=1&event_type=" + java.net.URLEncoder.encode(eventType, StandardCharsets.UTF_8));
        chromium.waiting().until(d -> d.findElements(By.cssSelector("#messages tr[data-id]")).size() == corpus.size());
        chromium.waiting().until(d -> !d.findElements(By.cssSelector("#overview [data-count]")).isEmpty());
        assertNothingRan(title);
        assertThat(chromium.driver().findElement(By.id("messages")).getText())
                .contains(aggregate + "-0").contains(eventType);
        chromium.screenshot("xss-list-1280x800");

        for (int i = 0; i < ids.size(); i++) {
            open("/messages/" + ids.get(i));
            String page = chromium.driver().findElement(By.tagName("main")).getText();
            assertThat(page).as("payload, header name and value shown as characters").contains(corpus.get(i))
                    .contains("h" + i + corpus.get(i)).contains("<b>cannot apply</b>");
            assertNothingRan(chromium.driver().getTitle().contains("pwned") ? "" : chromium.driver().getTitle());
        }
        chromium.screenshot("xss-message-1280x800");
    }

    @Test
    void a_post_from_another_site_is_refused_and_changes_nothing() throws Exception {
        String aggregate = "cross-site-" + UUID.randomUUID();
        refused.add(aggregate);
        UUID id = outbox.write(aggregate, "OrderCreated");
        await().atMost(Duration.ofSeconds(20)).until(() -> outbox.status(id) == MessageStatus.DEAD);
        String attack = "<!doctype html><form id=\"f\" method=\"post\" action=\"" + base() + "/messages/" + id + "/requeue\">"
                + "<input name=\"form_token\" value=\"forged\"></form><script>document.getElementById('f').submit()</script>";
        HttpServer attacker = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        attacker.createContext("/", exchange -> {
            byte[] body = attack.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        attacker.start();
        try {
            chromium.driver().get("http://localhost:" + attacker.getAddress().getPort() + "/");

            chromium.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.className("error-message"),
                    "a change must come from a page of this console"));
            chromium.screenshot("cross-site-refused-1280x800");
        } finally {
            attacker.stop(0);
        }
        assertThat(outbox.status(id)).isEqualTo(MessageStatus.DEAD);
        assertThat(outbox.entry(id).message().attempts()).isEqualTo(2);
    }

    @Test
    void with_a_token_the_console_asks_for_it_and_keeps_it_in_an_http_only_cookie() {
        try (Relay guarded = Relay.start(database, TestRelays.config(consumer.url(), "RELAY_NAME", "console-guarded"),
                Observability.off(), new ConsoleSettings(TOKEN))) {
            String home = "http://127.0.0.1:" + guarded.adminPort();
            chromium.driver().get(home + "/?status=dead");
            WebElement field = chromium.waiting().until(ExpectedConditions.presenceOfElementLocated(By.name("token")));
            chromium.screenshot("login-1280x800");
            field.sendKeys("not-the-token-at-all");
            field.submit();
            chromium.waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.tagName("main"),
                    "That is not the admin token"));

            chromium.driver().findElement(By.name("token")).sendKeys(TOKEN);
            chromium.driver().findElement(By.name("token")).submit();

            chromium.waiting().until(ExpectedConditions.urlToBe(home + "/?status=dead"));
            chromium.waiting().until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#overview [data-count]")));
            Cookie session = chromium.driver().manage().getCookieNamed("outboxkit_admin");
            assertThat(session.isHttpOnly()).isTrue();
            assertThat(session.getSameSite()).isEqualTo("Strict");
            assertThat(session.getValue()).doesNotContain(TOKEN);
            assertThat(chromium.eval("document.cookie")).asString().doesNotContain("outboxkit_admin");
            assertThat(chromium.driver().getCurrentUrl()).doesNotContain(TOKEN);
            chromium.driver().manage().deleteAllCookies();
        }
    }

    private static void assertNothingRan(String expectedTitle) {
        assertThat(chromium.eval("typeof window.__xss")).as("no injected script ran").isEqualTo("undefined");
        assertThat(chromium.driver().getTitle()).doesNotContain("pwned").isEqualTo(expectedTitle);
        assertThat(chromium.eval("document.scripts.length")).as("only the console's three scripts").isEqualTo(3L);
        assertThat(chromium.eval("document.querySelectorAll('img, iframe, svg, style, meta[http-equiv], "
                + "[onerror], [onload], [onmouseover], a[href^=\"javascript\"], [hx-get=\"/requeue/dead\"]').length"))
                .as("no injected element or handler").isEqualTo(0L);
    }

    private static String jsonString(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static void open(String path) {
        chromium.driver().get(base() + path);
    }

    private static String base() {
        return "http://127.0.0.1:" + relay.adminPort();
    }

    private static String fact(String name) {
        return chromium.driver().findElement(By.cssSelector("[data-fact='" + name + "']")).getText();
    }

    private static long pageCount(String status) {
        List<WebElement> found = chromium.driver().findElements(By.cssSelector("#overview [data-count='" + status + "']"));
        return found.isEmpty() ? -1 : Long.parseLong(found.get(0).getText());
    }

    private static long count(String condition) {
        return TestDatabases.count(db, "SELECT count(*) FROM outbox WHERE " + condition);
    }
}
