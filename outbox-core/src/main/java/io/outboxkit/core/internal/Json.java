package io.outboxkit.core.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;

/** The JSON outbox-core needs: validation, headers as objects, payload objects as text. */
public final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() { };

    private Json() {
    }

    /** Whether {@code text} is exactly one JSON value. */
    public static boolean isValid(String text) {
        try (var parser = MAPPER.createParser(text)) {
            if (parser.nextToken() == null) {
                return false;
            }
            parser.skipChildren();
            return parser.nextToken() == null;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** {@code value} as JSON text. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialize " + value.getClass().getName() + " to JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    /** A JSON object of strings read back as a map. */
    public static Map<String, String> readHeaders(String text) {
        try {
            // Most messages carry no headers: skip the parser for them (a relay reads every row it claims).
            return text == null || "{}".equals(text) ? Map.of() : MAPPER.readValue(text, STRING_MAP);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("outbox headers are not a JSON object of strings: " + e.getOriginalMessage(), e);
        }
    }
}
