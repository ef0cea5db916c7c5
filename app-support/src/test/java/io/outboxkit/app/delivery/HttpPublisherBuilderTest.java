package io.outboxkit.app.delivery;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** build() refuses settings out of range, naming the setting. */
class HttpPublisherBuilderTest {

    static final URI CONSUMER = URI.create("http://127.0.0.1:1/messages");

    @Test
    void a_timeout_that_is_not_positive_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(CONSUMER).timeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("timeout must be positive");
    }

    @Test
    void a_lease_not_longer_than_the_timeout_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(CONSUMER).timeout(Duration.ofSeconds(5)).lease(Duration.ofSeconds(5))
                .build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("lease must exceed the timeout");
    }

    @Test
    void no_request_in_flight_is_refused() {
        assertThatThrownBy(() -> HttpPublisher.builder(CONSUMER).maxInFlight(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("maxInFlight must be at least 1");
    }
}
