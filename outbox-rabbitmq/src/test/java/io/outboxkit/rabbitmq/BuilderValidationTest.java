package io.outboxkit.rabbitmq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.InvalidOptionException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad options are refused at build() with one line naming the option and what it allows; no broker needed. */
class BuilderValidationTest {

    private static final String URI = "amqp://guest:s3cr3t@127.0.0.1:5672/%2F";

    @Test
    void a_uri_is_read_with_its_defaults_and_printed_without_its_password() {
        assertThat(AmqpUri.parse("uri", "amqp://app:s3cr3t@rabbit.internal:5673/orders"))
                .isEqualTo(new AmqpUri(false, "rabbit.internal", 5673, "app", "s3cr3t", "orders"));
        assertThat(AmqpUri.parse("uri", "amqp://rabbit")).isEqualTo(new AmqpUri(false, "rabbit", 5672, "guest", "guest", "/"));
        assertThat(AmqpUri.parse("uri", "amqp://u:p@rabbit/")).extracting(AmqpUri::virtualHost).isEqualTo("/");
        assertThat(AmqpUri.parse("uri", "amqp://u:p%40ss%3Aw@rabbit/%2F")).extracting(AmqpUri::password, AmqpUri::virtualHost)
                .containsExactly("p@ss:w", "/");
        assertThat(AmqpUri.parse("uri", "amqps://u:p@rabbit/prod")).extracting(AmqpUri::tls, AmqpUri::port)
                .containsExactly(true, 5671);
        assertThat(AmqpUri.parse("uri", URI)).hasToString("amqp://guest@127.0.0.1:5672/%2F");
    }

    @Test
    void a_bad_uri_is_refused_with_what_is_expected_and_never_the_password() {
        for (String bad : List.of("", "http://guest:s3cr3t@host:5672/", "amqp://guest:s3cr3t@/%2F",
                "amqp://guest:s3cr3t@host:5672/a/b", "amqp://guest:s3cr3t@host:5672/%2F?heartbeat=10",
                "amqp://guest:s3cr3t%zz@host/", "amqp://guest:s3cr3t@host:5672/ bad")) {
            assertThatThrownBy(() -> RabbitMqPublisher.builder(bad).build()).as(bad)
                    .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("uri"))
                    .hasMessageStartingWith("uri ")
                    .hasMessageNotContaining("s3cr3t");
        }
        assertThatThrownBy(() -> RabbitMqSource.builder("http://h/", "q").build())
                .hasMessage("uri must start with amqp:// or amqps://, not http://; expected "
                        + "amqp://user:password@host:port/vhost or amqps://...");
    }

    @Test
    void a_port_out_of_range_is_refused_before_anything_connects() {
        for (String port : List.of("0", "65536", "99999")) {
            assertThatThrownBy(() -> RabbitMqPublisher.builder("amqp://guest:s3cr3t@127.0.0.1:" + port + "/%2F").build())
                    .as(port).isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("uri"))
                    .hasMessage("uri has port " + port + ", not 1 to 65535; expected "
                            + "amqp://user:password@host:port/vhost or amqps://...");
        }
    }

    @Test
    void the_publisher_builder_names_each_option_out_of_range() {
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).exchange(" ").build())
                .hasMessage("exchange must be a name of 1 to 255 bytes, not blank");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).exchange("amq.topic").build())
                .hasMessageStartingWith("exchange must not start with 'amq.'");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).exchange("x".repeat(256)).build())
                .hasMessage("exchange must be at most 255 bytes of UTF-8, not 256");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).timeout(Duration.ZERO).build())
                .hasMessage("timeout must be 1 ms to 600000 ms, not 0 ms");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).timeout(null).build())
                .hasMessage("timeout must be 1 ms to 600000 ms, not null");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).maxMessageBytes(0).build())
                .hasMessage("maxMessageBytes must be 1 to 536870912, not 0");
        assertThatThrownBy(() -> RabbitMqPublisher.builder(URI).recoveryInterval(Duration.ofMillis(1)).build())
                .hasMessage("recoveryInterval must be 10 ms to 600000 ms, not 1 ms");
    }

    @Test
    void the_source_builder_names_each_option_out_of_range() {
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "").build())
                .hasMessage("queue must be a name of 1 to 255 bytes, not blank");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").batchSize(300).build())
                .hasMessage("batchSize must be 1 to 200, not 300");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").prefetch(0).build())
                .hasMessage("prefetch must be 1 to 65535, not 0");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").maxAttempts(0).build())
                .hasMessage("maxAttempts must be 1 to 1000, not 0");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").initialBackoff(Duration.ofSeconds(2))
                .maxBackoff(Duration.ofSeconds(1)).build())
                .hasMessage("maxBackoff must be 2000 ms to 3600000 ms, not 1000 ms");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").bindingKeys(List.of()).build())
                .hasMessage("bindingKeys must hold at least one topic pattern, e.g. #");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").deadLetterQueue("q").build())
                .hasMessage("deadLetterQueue must differ from the queue: q");
        assertThatThrownBy(() -> RabbitMqSource.builder(URI, "q").closeTimeout(Duration.ofMillis(-1)).build())
                .hasMessage("closeTimeout must be 0 ms to 3600000 ms, not -1 ms");
    }

    @Test
    void a_source_says_where_it_reads_without_the_password() {
        RabbitMqSource source = RabbitMqSource.builder(URI, "loyalty").build();

        assertThat(source).hasToString("RabbitMqSource[amqp://guest@127.0.0.1:5672/%2F, queue loyalty]");
        assertThat(source.deadLetterQueue()).isEqualTo("loyalty.dead-letter");
    }
}
