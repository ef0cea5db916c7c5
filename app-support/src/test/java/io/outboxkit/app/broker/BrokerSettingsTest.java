package io.outboxkit.app.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.core.OutboxNames;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BrokerSettingsTest {

    static final String SECRET = "s3cr3t-Hunter2";

    static Env env(String... pairs) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        return Env.of(map);
    }

    static void assertNoSecret(String text) {
        assertThat(text).doesNotContain(SECRET).doesNotContain("Hunter2");
    }

    @Test
    void without_sink_or_source_the_relay_and_consumer_keep_http() {
        assertThat(BrokerSettings.sink(env()).broker()).isEqualTo(Broker.HTTP);
        BrokerSettings source = BrokerSettings.source(env(), "loyalty");
        assertThat(source.broker()).isEqualTo(Broker.HTTP);
        assertThat(source.consumerName()).isEqualTo("loyalty");
    }

    @Test
    void each_broker_has_the_documented_defaults() {
        BrokerSettings kafka = BrokerSettings.sink(env("SINK", "kafka"));
        assertThat(kafka.kafkaBootstrapServers()).isEqualTo("localhost:9092");
        assertThat(kafka.kafkaTopic()).isEqualTo("outbox.event.{aggregate_type}");

        BrokerSettings rabbit = BrokerSettings.sink(env("SINK", "RabbitMQ"));
        assertThat(rabbit.broker()).isEqualTo(Broker.RABBITMQ);
        assertThat(rabbit.rabbitMqUri()).isEqualTo("amqp://guest:guest@localhost:5672/%2F");
        assertThat(rabbit.rabbitMqExchange()).isEqualTo("outbox");

        BrokerSettings nats = BrokerSettings.source(env("SOURCE", "NATS"), "loyalty");
        assertThat(nats.natsUrl()).isEqualTo("nats://localhost:4222");
        assertThat(nats.natsStream()).isEqualTo("OUTBOX");
        assertThat(nats.natsSubjectPrefix()).isEqualTo("outbox");
    }

    @Test
    void the_variables_override_the_defaults() {
        BrokerSettings kafka = BrokerSettings.sink(env("SINK", "kafka", "KAFKA_BOOTSTRAP_SERVERS", "k1:9093, k2:9094",
                "KAFKA_TOPIC", "orders.{aggregate_type}.{event_type}"));
        assertThat(kafka.kafkaBootstrapServers()).isEqualTo("k1:9093, k2:9094");
        assertThat(kafka.kafkaTopic()).isEqualTo("orders.{aggregate_type}.{event_type}");

        BrokerSettings rabbit = BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI", "amqps://u:p@mq.example:5671/prod",
                "RABBITMQ_EXCHANGE", "events"));
        assertThat(rabbit.rabbitMqUri()).isEqualTo("amqps://u:p@mq.example:5671/prod");
        assertThat(rabbit.rabbitMqExchange()).isEqualTo("events");

        BrokerSettings nats = BrokerSettings.sink(env("SINK", "nats", "NATS_URL", "nats://a:4222,nats://b:4223",
                "NATS_STREAM", "EVENTS", "NATS_SUBJECT_PREFIX", "shop.orders"));
        assertThat(nats.natsUrl()).isEqualTo("nats://a:4222,nats://b:4223");
        assertThat(nats.natsStream()).isEqualTo("EVENTS");
        assertThat(nats.natsSubjectPrefix()).isEqualTo("shop.orders");
        assertThat(nats.describe()).isEqualTo("nats at nats://a:4222,nats://b:4223 (stream EVENTS, subjects shop.orders.>)");
    }

    @Test
    void an_unknown_sink_or_source_names_the_allowed_values() {
        assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "kafak")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SINK=kafak is not http, kafka, rabbitmq or nats");
        assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "sqs"), "loyalty"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SOURCE=sqs is not http, kafka, rabbitmq or nats");
    }

    @Test
    void a_topic_template_with_an_unknown_placeholder_is_one_clear_error() {
        assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "kafka", "KAFKA_TOPIC", "outbox.{aggregate}")))
                .isInstanceOf(ConfigException.class)
                .hasMessage("KAFKA_TOPIC=outbox.{aggregate} has an unknown placeholder {aggregate}; the known ones are "
                        + "{aggregate_type} and {event_type}");
        assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "kafka", "KAFKA_TOPIC", "outbox events")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("KAFKA_TOPIC=outbox events may hold only letters, digits");
    }

    @Test
    void a_broker_name_the_module_refuses_names_its_variable_before_anything_connects() {
        // Unreachable servers: the names are checked before a connection is tried.
        assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "nats", "NATS_URL", "nats://127.0.0.1:1",
                "NATS_SUBJECT_PREFIX", "shop..orders")).openPublisher(OutboxNames.DEFAULT))
                .isInstanceOf(ConfigException.class)
                .hasMessage("SINK=nats: NATS_SUBJECT_PREFIX must be one or more tokens of A-Z a-z 0-9 - _ separated by "
                        + "dots (e.g. outbox), not 'shop..orders'");
        assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "nats", "NATS_URL", "nats://127.0.0.1:1",
                "NATS_STREAM", "ORDERS.V1"), "loyalty").openSource())
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SOURCE=nats: NATS_STREAM must be 1 to 200 of the characters");
        assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "nats", "NATS_URL", "nats://127.0.0.1:1"),
                "loyalty.eu").openSource())
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SOURCE=nats: CONSUMER_NAME must be 1 to 200 of the characters");
        assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:1/%2F",
                "RABBITMQ_EXCHANGE", "amq.orders")).openPublisher(OutboxNames.DEFAULT))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SINK=rabbitmq: RABBITMQ_EXCHANGE must not start with 'amq.'");
    }

    @Test
    void a_refusal_naming_two_options_names_each_one_a_variable_sets_by_that_variable() {
        assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "nats", "NATS_URL", "nats://127.0.0.1:1",
                "NATS_STREAM", "OUTBOX_DEAD_LETTER"), "loyalty").openSource())
                .isInstanceOf(ConfigException.class)
                .hasMessage("SOURCE=nats: deadLetterStream must differ from NATS_STREAM (OUTBOX_DEAD_LETTER)");
    }

    @Test
    void bootstrap_servers_that_are_not_host_port_are_refused() {
        for (String bad : new String[] {"localhost", "localhost:", "localhost:99999", "kafka://localhost:9092", "a:1,,b:2"}) {
            assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "kafka", "KAFKA_BOOTSTRAP_SERVERS", bad)))
                    .as(bad).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("is not a comma-separated list of host:port");
        }
    }

    @Test
    void a_malformed_rabbitmq_uri_is_one_line_without_its_password() {
        String[][] cases = {
                {"http://guest:" + SECRET + "@localhost:5672/", "does not start with amqp:// or amqps://"},
                {"amqp://guest:" + SECRET + "@/%2F", "has no host"},
                {"amqp://guest:" + SECRET + "@local host:5672/", "is not a valid URI"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI", c[0])))
                    .as(c[0]).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("RABBITMQ_URI=")
                    .hasMessageContaining(c[1])
                    .satisfies(e -> assertNoSecret(e.getMessage()))
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
    }

    @Test
    void a_malformed_nats_url_is_one_line_without_its_password_or_token() {
        for (String bad : new String[] {"nats://" + SECRET + "@", "http://u:" + SECRET + "@localhost:4222",
                "nats://localhost:4222,nats://u:" + SECRET + "@ bad"}) {
            assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "nats", "NATS_URL", bad)))
                    .as(bad).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith("NATS_URL=")
                    .satisfies(e -> assertNoSecret(e.getMessage()));
        }
    }

    @Test
    void a_broker_uri_with_a_port_out_of_range_stops_the_start_naming_its_variable_without_the_password() {
        for (String port : new String[] {"0", "65536", "99999"}) {
            assertThatThrownBy(() -> BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI",
                    "amqp://guest:" + SECRET + "@localhost:" + port + "/%2F")))
                    .as(port).isInstanceOf(ConfigException.class)
                    .hasMessage("RABBITMQ_URI=amqp://guest:***@localhost:" + port + "/%2F has port " + port
                            + ", not 1 to 65535; expected amqp://user:password@host:5672/%2F");
            assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "nats", "NATS_URL",
                    "nats://a:4222,nats://u:" + SECRET + "@b:" + port), "loyalty"))
                    .as(port).isInstanceOf(ConfigException.class)
                    .hasMessage("NATS_URL=nats://u:***@b:" + port + " has port " + port
                            + ", not 1 to 65535; expected nats://host:4222 (several separated by commas)");
        }
        assertThat(BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI", "amqp://localhost:65535/%2F")).rabbitMqUri())
                .isEqualTo("amqp://localhost:65535/%2F");
        assertThat(BrokerSettings.sink(env("SINK", "nats", "NATS_URL", "nats://localhost:1,nats://localhost")).natsUrl())
                .isEqualTo("nats://localhost:1,nats://localhost");
    }

    @Test
    void only_the_chosen_brokers_variables_are_checked() {
        Env env = env("SINK", "http", "NATS_URL", "not a url", "RABBITMQ_URI", "nope", "KAFKA_TOPIC", "{x}");
        assertThat(BrokerSettings.sink(env).broker()).isEqualTo(Broker.HTTP);
    }

    @Test
    void redact_hides_passwords_and_tokens_and_keeps_the_rest() {
        assertThat(BrokerSettings.redact("amqp://guest:" + SECRET + "@localhost:5672/%2F"))
                .isEqualTo("amqp://guest:***@localhost:5672/%2F");
        assertThat(BrokerSettings.redact("amqp://guest@localhost:5672/%2F")).isEqualTo("amqp://guest@localhost:5672/%2F");
        assertThat(BrokerSettings.redact("nats://" + SECRET + "@a:4222,nats://u:" + SECRET + "@b:4222"))
                .isEqualTo("nats://***@a:4222,nats://u:***@b:4222");
        assertThat(BrokerSettings.redact("amqp://u:pa/ss@wo@rd" + SECRET + "@host/%2F")).isEqualTo("amqp://u:***@host/%2F");
        assertThat(BrokerSettings.redact("amqp://relay:s3,cr" + SECRET + "@127.0.0.1:5672/%2F"))
                .isEqualTo("amqp://relay:***@127.0.0.1:5672/%2F");
        assertThat(BrokerSettings.redact("refused at amqp://u:" + SECRET + "@h/%2F, then at nats://" + SECRET + "@n:4222"))
                .isEqualTo("refused at amqp://u:***@h/%2F, then at nats://***@n:4222");
        assertThat(BrokerSettings.redact("nats://localhost:4222")).isEqualTo("nats://localhost:4222");
        assertThat(BrokerSettings.redact(null)).isNull();
    }

    @Test
    void to_string_and_describe_never_show_a_secret() {
        BrokerSettings rabbit = BrokerSettings.sink(env("SINK", "rabbitmq", "RABBITMQ_URI",
                "amqp://app:" + SECRET + "@localhost:5672/%2F"));
        BrokerSettings nats = BrokerSettings.source(env("SOURCE", "nats", "NATS_URL", "nats://" + SECRET + "@localhost:4222"),
                "loyalty");
        for (BrokerSettings settings : new BrokerSettings[] {rabbit, nats}) {
            assertNoSecret(settings.toString());
            assertNoSecret(settings.describe());
        }
        assertThat(rabbit.describe()).isEqualTo("rabbitmq at amqp://app:***@localhost:5672/%2F (exchange outbox)");
        assertThat(nats.toString()).isEqualTo("BrokerSettings[SOURCE=nats, nats at nats://***@localhost:4222 (stream OUTBOX, subjects outbox.>), "
                + "consumer loyalty]");
    }

    @Test
    void the_kafka_source_reads_every_topic_the_template_produces_and_no_other() {
        Pattern standard = Pattern.compile(BrokerSettings.topicPattern("outbox.event.{aggregate_type}"));
        assertThat(standard.matcher("outbox.event.Order").matches()).isTrue();
        assertThat(standard.matcher("outbox.dead-letter").matches()).isFalse();
        assertThat(standard.matcher("outboxXevent.Order").matches()).as("a literal dot is a dot").isFalse();

        Pattern both = Pattern.compile(BrokerSettings.topicPattern("{aggregate_type}-{event_type}.v1"));
        assertThat(both.matcher("Order-OrderPaid.v1").matches()).isTrue();
        assertThat(both.matcher("Order-OrderPaid.v2").matches()).isFalse();
    }

    /**
     * README: KAFKA_TOPIC is "a template with {aggregate_type} and {event_type}; the source reads every topic the
     * template can produce". A consumer given the relay's own template must start, even one wide enough to produce
     * the dead-letter topic's name: the source leaves that one topic out of what it reads (KAFKA_DEAD_LETTER_TOPIC
     * moves it elsewhere).
     */
    @Test
    void a_consumer_starts_on_a_documented_topic_template_that_covers_the_default_dead_letter_topic() {
        for (String template : new String[] {"outbox.{event_type}", "{aggregate_type}"}) {
            // Unreachable servers: a Kafka source starts without its broker.
            try (var source = BrokerSettings.source(env("SOURCE", "kafka", "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1",
                    "KAFKA_TOPIC", template), "loyalty").openSource()) {
                assertThat(source).as(template).isNotNull();
            }
        }
    }

    @Test
    void a_kafka_source_reads_every_topic_of_its_template_but_its_dead_letter_topic() {
        Pattern read = Pattern.compile(BrokerSettings.sourcePattern("{aggregate_type}", "outbox.dead-letter"));
        assertThat(read.matcher("Order").matches()).isTrue();
        assertThat(read.matcher("outbox.dead-letter.old").matches()).isTrue();
        assertThat(read.matcher("outbox.dead-letter").matches()).isFalse();
    }

    @Test
    void kafka_dead_letter_topic_sets_a_sources_dead_letter_topic() {
        BrokerSettings source = BrokerSettings.source(env("SOURCE", "kafka", "KAFKA_DEAD_LETTER_TOPIC", "loyalty.dead"), "loyalty");
        assertThat(source.kafkaDeadLetterTopic()).isEqualTo("loyalty.dead");
        assertThat(source.describe()).isEqualTo("kafka at localhost:9092 (topic outbox.event.{aggregate_type}, dead letters to loyalty.dead)");
        assertThat(BrokerSettings.source(env("SOURCE", "kafka"), "loyalty").kafkaDeadLetterTopic()).isEqualTo("outbox.dead-letter");
        assertThat(BrokerSettings.sink(env("SINK", "kafka", "KAFKA_DEAD_LETTER_TOPIC", "loyalty.dead")).kafkaDeadLetterTopic()).isNull();
    }

    @Test
    void a_kafka_topic_that_is_the_dead_letter_topic_is_refused_naming_the_variable_to_set() {
        assertThatThrownBy(() -> BrokerSettings.source(env("SOURCE", "kafka", "KAFKA_TOPIC", "outbox.dead-letter"), "loyalty"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("KAFKA_TOPIC=outbox.dead-letter is the dead-letter topic, where the consumer copies the messages it "
                        + "cannot apply; set KAFKA_DEAD_LETTER_TOPIC to another topic");
    }

    @Test
    void an_illegal_kafka_dead_letter_topic_is_refused_by_name() {
        BrokerSettings source = BrokerSettings.source(env("SOURCE", "kafka", "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1",
                "KAFKA_DEAD_LETTER_TOPIC", "dead letters"), "loyalty");
        assertThatThrownBy(source::openSource)
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("SOURCE=kafka: KAFKA_DEAD_LETTER_TOPIC 'dead letters' is not a legal Kafka topic name");
    }
}
