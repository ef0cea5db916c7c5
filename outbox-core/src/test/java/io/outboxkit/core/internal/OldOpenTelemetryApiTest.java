package io.outboxkit.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library beside an older OpenTelemetry API than it is built with, as an embedder's dependency
 * management (Spring Boot 4.0's, say) hands it: tracing works from a given OpenTelemetry, and
 * without one it is off, never a NoSuchMethodError in the poller's or the handler's path.
 */
class OldOpenTelemetryApiTest {

    /** Where the build copied the oldest API the library is tested against (outbox-core's pom). */
    private static final Path OLDEST_API = Path.of("target", "opentelemetry-oldest");

    @Test
    void without_a_given_opentelemetry_tracing_is_off_and_the_global_one_is_left_unset() throws Exception {
        try (URLClassLoader loader = libraryWithOldestApi()) {
            Object tracing = tracingOf(loader, null);

            assertThat(tracing.getClass().getMethod("tracer").invoke(tracing)).as("no tracer: tracing off").isNull();
            // set() fails once anything (a get(), say) installed a global: the host may still install its SDK.
            Class<?> api = loader.loadClass("io.opentelemetry.api.OpenTelemetry");
            loader.loadClass("io.opentelemetry.api.GlobalOpenTelemetry").getMethod("set", api)
                    .invoke(null, api.getMethod("noop").invoke(null));
        }
    }

    @Test
    void a_given_opentelemetry_gives_the_tracer() throws Exception {
        try (URLClassLoader loader = libraryWithOldestApi()) {
            Object noop = loader.loadClass("io.opentelemetry.api.OpenTelemetry").getMethod("noop").invoke(null);
            Object tracing = tracingOf(loader, noop);

            assertThat(tracing.getClass().getMethod("tracer").invoke(tracing)).isNotNull();
        }
    }

    private static Object tracingOf(URLClassLoader loader, Object openTelemetry) throws Exception {
        Class<?> tracing = loader.loadClass(Tracing.class.getName());
        assertThat(tracing.getClassLoader()).as("the library's class, loaded beside the old API").isSameAs(loader);
        return tracing.getMethod("of", loader.loadClass("io.opentelemetry.api.OpenTelemetry"))
                .invoke(null, openTelemetry);
    }

    /** The library's classes, slf4j and the oldest API's jars, none of them from this test's class path. */
    private static URLClassLoader libraryWithOldestApi() throws Exception {
        List<URL> urls = new ArrayList<>();
        urls.add(Tracing.class.getProtectionDomain().getCodeSource().getLocation());
        urls.add(org.slf4j.Logger.class.getProtectionDomain().getCodeSource().getLocation());
        try (Stream<Path> jars = Files.list(OLDEST_API)) {
            jars.filter(p -> p.toString().endsWith(".jar")).forEach(p -> urls.add(toUrl(p)));
        }
        assertThat(urls).as("the oldest API's jars in " + OLDEST_API).hasSizeGreaterThanOrEqualTo(4);
        return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }

    private static URL toUrl(Path jar) {
        try {
            return jar.toUri().toURL();
        } catch (java.net.MalformedURLException e) {
            throw new IllegalArgumentException(jar.toString(), e);
        }
    }
}
