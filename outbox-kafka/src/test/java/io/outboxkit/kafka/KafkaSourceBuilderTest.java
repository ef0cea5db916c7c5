package io.outboxkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.InvalidOptionException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What build() refuses, and what the source shows of itself; needs no broker. */
class KafkaSourceBuilderTest {

    @Test
    void shows_its_defaults_but_never_the_passed_through_properties() {
        KafkaSource source = KafkaSource.builder("127.0.0.1:1", "loyalty")
                .property("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required"
                        + " username=\"c\" password=\"s3cret-pw\";")
                .build();

        assertThat(source).hasToString("KafkaSource[bootstrapServers=127.0.0.1:1, consumer=loyalty,"
                + " topicPattern=outbox\\.event\\..*, deadLetterTopic=outbox.dead-letter, maxAttempts=10,"
                + " backoff=1000..60000ms, maxBatchSize=500, commitInterval=100ms]");
        assertThat(source.isConnected()).isFalse();
        source.close();
    }

    @Test
    void refuses_a_dead_letter_topic_it_would_read_itself() {
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").deadLetterTopic("outbox.event.dead").build())
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("deadLetterTopic"))
                .hasMessage("deadLetterTopic 'outbox.event.dead' is one of the topics read: a dead letter would be read"
                        + " again; choose another deadLetterTopic or topic pattern");
    }

    @Test
    void refuses_what_the_guarantees_rest_on_and_bad_options_naming_each() {
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").property("enable.auto.commit", "true"))
                .hasMessage("property enable.auto.commit cannot be passed through: offsets are committed only after the"
                        + " receiver returned");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", " ").build()).hasMessage("consumerName must not be blank");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").topicPattern("outbox.(").build())
                .hasMessageStartingWith("topicPattern 'outbox.(' is not a regular expression: ");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").topics(List.of("a b")).build())
                .hasMessageStartingWith("topics: 'a b' is not a legal Kafka topic name");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").maxAttempts(0).build())
                .hasMessage("maxAttempts must be from 1 to 1000, not 0");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").maxBackoff(Duration.ofMillis(1)).build())
                .hasMessage("maxBackoff must be from 1000 ms to 3600000 ms, not 1 ms");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").commitInterval(Duration.ofMinutes(2)).build())
                .hasMessage("commitInterval must be from 0 ms to 60000 ms, not 120000 ms");
        assertThatThrownBy(() -> KafkaSource.builder("localhost:9092", "c").property("session.timeout.ms", "soon").build())
                .hasMessageStartingWith("the Kafka consumer's properties are not valid: ");
    }
}
