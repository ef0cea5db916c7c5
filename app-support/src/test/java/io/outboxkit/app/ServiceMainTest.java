package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.ChildJvm;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a service process ends when its start fails. */
class ServiceMainTest {

    @Test
    void an_error_thrown_by_the_start_exits_the_process_even_with_a_thread_it_left_running() throws Exception {
        try (ChildJvm service = ChildJvm.start(ErrorAtStart.class.getName(), Map.of(), List.of())) {
            int status = service.waitFor(Duration.ofSeconds(30));

            assertThat(status).as(service.output()).isEqualTo(ServiceMain.EXIT_START_FAILED);
            assertThat(service.output().lines().filter(line -> line.startsWith("error-probe: cannot start: ")))
                    .singleElement().asString().contains("java.lang.OutOfMemoryError: unable to create native thread");
        }
    }

    /** A start that begins a non-daemon thread (as an HTTP server does) and then meets an {@link Error}. */
    public static final class ErrorAtStart {

        private ErrorAtStart() {
        }

        public static void main(String[] args) {
            ServiceMain.run("error-probe", () -> {
                Thread server = new Thread(() -> {
                    try {
                        Thread.sleep(Long.MAX_VALUE); // stands for a server's accept loop
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "error-probe-server");
                server.start();
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
            });
        }
    }
}
