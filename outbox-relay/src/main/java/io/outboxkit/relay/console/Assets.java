package io.outboxkit.relay.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The addresses of the scripts and styles the page loads, all served by the relay itself: this
 * package's own under {@code /assets/}, and htmx and uPlot from their webjars under
 * {@code /webjars/}. A webjar's path holds its version, read from the jar's own
 * {@code pom.properties}, so the version is written only in the build (the parent pom).
 *
 * @param htmx      htmx's script
 * @param uplot     uPlot's script
 * @param uplotCss  uPlot's stylesheet
 * @param script    the console's script
 * @param style     the console's stylesheet
 */
record Assets(String htmx, String uplot, String uplotCss, String script, String style) {

    /** The paths of the webjars on the class path. */
    static Assets onClassPath() {
        String htmx = "/webjars/htmx.org/" + version("htmx.org");
        String uplot = "/webjars/uplot/" + version("uplot");
        return new Assets(htmx + "/dist/htmx.min.js", uplot + "/dist/uPlot.iife.min.js", uplot + "/dist/uPlot.min.css",
                "/assets/console.js", "/assets/console.css");
    }

    private static String version(String artifact) {
        String resource = "/META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
        try (InputStream in = Assets.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the webjar " + artifact + " is not on the class path (" + resource + ")");
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
