package io.outboxkit.kafka;

import static io.outboxkit.kafka.TestKafka.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.core.InvalidOptionException;
import org.junit.jupiter.api.Test;

class TopicTemplateTest {

    @Test
    void fills_the_aggregate_type_and_the_event_type() {
        assertThat(TopicTemplate.parse("outbox.event.{aggregate_type}").topicFor(message("Order", "1", 3)))
                .isEqualTo("outbox.event.Order");
        assertThat(TopicTemplate.parse("{aggregate_type}-{event_type}").topicFor(message("Order", "1", 3)))
                .isEqualTo("Order-Event3");
        assertThat(TopicTemplate.parse("orders").topicFor(message("Order", "1", 3))).isEqualTo("orders");
    }

    @Test
    void refuses_an_unknown_placeholder_naming_the_known_ones() {
        assertThatThrownBy(() -> TopicTemplate.parse("outbox.{aggregate}"))
                .isInstanceOfSatisfying(InvalidOptionException.class, e -> assertThat(e.option()).isEqualTo("topicTemplate"))
                .hasMessage("topicTemplate 'outbox.{aggregate}' has an unknown placeholder {aggregate}; the known ones are"
                        + " {aggregate_type} and {event_type}");
    }

    @Test
    void refuses_characters_kafka_does_not_allow_in_a_topic_name_and_a_stray_brace() {
        assertThatThrownBy(() -> TopicTemplate.parse("outbox/{aggregate_type}"))
                .hasMessageStartingWith("topicTemplate 'outbox/{aggregate_type}' has 'outbox/' outside a placeholder");
        assertThatThrownBy(() -> TopicTemplate.parse("outbox.{aggregate_type"))
                .hasMessageStartingWith("topicTemplate 'outbox.{aggregate_type' has 'outbox.{aggregate_type' outside a placeholder");
        assertThatThrownBy(() -> TopicTemplate.parse(" ")).hasMessageStartingWith("topicTemplate must not be blank");
        assertThatThrownBy(() -> TopicTemplate.parse("..")).hasMessageContaining("is not a legal Kafka topic name");
    }

    @Test
    void refuses_a_topic_longer_than_249_characters_when_a_message_makes_one() {
        TopicTemplate template = TopicTemplate.parse("outbox.event.{aggregate_type}");

        assertThatThrownBy(() -> template.topicFor(message("A".repeat(240), "1", 1)))
                .hasMessageEndingWith("is 253 characters long; Kafka allows at most 249");
    }
}
