package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.app.ConfigException;
import io.outboxkit.app.Env;
import io.outboxkit.app.ServiceSettings;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The consumer's settings: defaults, and one clear message naming a bad variable. */
class ConsumerConfigTest {

    @Test
    void defaults() {
        ConsumerConfig config = ConsumerConfig.from(Env.of(Map.of()));

        assertThat(config).isEqualTo(new ConsumerConfig(new ServiceSettings("0.0.0.0", 8081, 16), "loyalty"));
    }

    @Test
    void every_setting_can_be_given() {
        ConsumerConfig config = ConsumerConfig.from(Env.of(Map.of(
                "BIND_HOST", "127.0.0.1", "PORT", "9000", "CONSUMER_NAME", "analytics", "DB_POOL_SIZE", "4")));

        assertThat(config).isEqualTo(new ConsumerConfig(new ServiceSettings("127.0.0.1", 9000, 4), "analytics"));
    }

    @Test
    void a_bad_port_is_refused_by_name() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("PORT", "eighty"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("PORT=eighty");
    }

    @Test
    void a_bad_pool_size_is_refused_by_name() {
        assertThatThrownBy(() -> ConsumerConfig.from(Env.of(Map.of("DB_POOL_SIZE", "0"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("DB_POOL_SIZE=0");
    }
}
