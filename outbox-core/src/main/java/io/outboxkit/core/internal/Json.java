package io.outboxkit.core.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON outbox-core reads and writes itself: a message's headers, a flat object of strings.
 * Payloads are never parsed here: they go to PostgreSQL as text, which checks them as {@code jsonb}.
 */
public final class Json {

    private static final JsonFactory FACTORY = new JsonFactory();

    private Json() {
    }

    /** {@code headers} as a JSON object of strings. */
    public static String writeHeaders(Map<String, String> headers) {
        if (headers.isEmpty()) {
            return "{}";
        }
        StringWriter text = new StringWriter(32 * headers.size());
        try (JsonGenerator json = FACTORY.createGenerator(text)) {
            json.writeStartObject();
            for (Map.Entry<String, String> header : headers.entrySet()) {
                json.writeStringField(header.getKey(), header.getValue());
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write headers as JSON", e); // a StringWriter does not fail
        }
        return text.toString();
    }

    /**
     * A JSON object read back as headers. A value that is not a string (written into the table by
     * some other means) is kept as its JSON text, so that reading a message never fails on it.
     *
     * @throws IllegalStateException when {@code text} is not a JSON object
     */
    public static Map<String, String> readHeaders(String text) {
        if (text == null || "{}".equals(text)) {
            return Map.of(); // most messages carry no headers: no parser for them
        }
        try (JsonParser json = FACTORY.createParser(text)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalStateException("outbox headers are not a JSON object: " + abbreviate(text));
            }
            Map<String, String> headers = new LinkedHashMap<>();
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String name = json.currentName();
                JsonToken value = json.nextToken();
                if (value == JsonToken.VALUE_STRING) {
                    headers.put(name, json.getText());
                } else if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                    long start = json.currentTokenLocation().getCharOffset();
                    json.skipChildren();
                    long end = json.currentTokenLocation().getCharOffset() + 1;
                    headers.put(name, text.substring((int) start, (int) end));
                } else {
                    headers.put(name, json.getText());
                }
            }
            return headers;
        } catch (IOException e) {
            throw new IllegalStateException("outbox headers are not valid JSON: " + e.getMessage(), e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 80) + "...";
    }
}
