package io.outboxkit.relay.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.Jsons;
import java.io.IOException;

/** JSON as an operator reads it: indented, and cut where it is too long to show. */
final class JsonText {

    /** The most characters of a payload or envelope shown: more is cut, and the page says so. */
    static final int MAX_SHOWN = 256 * 1024;

    private JsonText() {
    }

    /** {@code json} indented; as it is when it cannot be parsed (nested too deep, say); cut at {@link #MAX_SHOWN}. */
    static String pretty(String json) {
        String text;
        try {
            text = pretty(Jsons.mapper().readTree(json));
        } catch (IOException | RuntimeException e) {
            text = json;
        }
        return cut(text);
    }

    /** {@code node} indented, cut at {@link #MAX_SHOWN}. */
    static String pretty(JsonNode node) {
        try {
            return cut(Jsons.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } catch (IOException e) {
            return cut(node.toString());
        }
    }

    private static String cut(String text) {
        return text.length() <= MAX_SHOWN ? text
                : text.substring(0, MAX_SHOWN) + "\n… (" + (text.length() - MAX_SHOWN) + " more characters not shown)";
    }
}
