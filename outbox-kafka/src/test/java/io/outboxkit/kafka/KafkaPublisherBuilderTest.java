package io.outboxkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.InvalidOptionException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What build() refuses, and what the publisher shows of itself; needs no broker (clients connect lazily). */
class KafkaPublisherBuilderTest {

    @Test
    void names_each_default_and_shows_it_but_never_the_passed_through_properties() {
        try (KafkaPublisher publisher = KafkaPublisher.builder("127.0.0.1:1")
                .property("security.protocol", "SASL_PLAINTEXT")
                .property("sasl.mechanism", "PLAIN")
                .property("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"relay\" password=\"s3cret-pw\";")
                .build()) {
            assertThat(publisher).hasToString("KafkaPublisher[bootstrapServers=127.0.0.1:1,"
                    + " topicTemplate=outbox.event.{aggregate_type}, clientId=outboxkit-publisher, deliveryTimeout=10000ms,"
                    + " maxBlock=5000ms]");
            assertThat(publisher.toString()).doesNotContain("s3cret-pw");
        }
    }

    @Test
    void refuses_the_properties_the_guarantees_rest_on_with_the_reason() {
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").property("acks", "1"))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("property"))
                .hasMessage("property acks cannot be passed through: a message counts as delivered only with acks=all");
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").property("enable.idempotence", "false"))
                .hasMessage("property enable.idempotence cannot be passed through: idempotence keeps order per key through retries");
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").property("delivery.timeout.ms", "1000"))
                .hasMessage("property delivery.timeout.ms cannot be passed through: use deliveryTimeout(...)");
    }

    @Test
    void refuses_timeouts_out_of_bounds_naming_the_option() {
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").deliveryTimeout(Duration.ofMinutes(10)).build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("deliveryTimeout"))
                .hasMessage("deliveryTimeout must be from 1000 ms to 300000 ms, not 600000 ms");
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").maxBlock(Duration.ZERO).build())
                .hasMessage("maxBlock must be from 100 ms to 60000 ms, not 0 ms");
    }

    @Test
    void refuses_missing_or_malformed_bootstrap_servers_and_a_bad_template() {
        assertThatThrownBy(() -> KafkaPublisher.builder(" ").build()).hasMessage("bootstrapServers must not be blank");
        assertThatThrownBy(() -> KafkaPublisher.builder("no-port-here").build())
                .hasMessageStartingWith("cannot create a Kafka producer for bootstrapServers no-port-here: ");
        assertThatThrownBy(() -> KafkaPublisher.builder("localhost:9092").topicTemplate("x.{nope}").build())
                .hasMessageContaining("unknown placeholder {nope}");
    }
}
