package io.outboxkit.core.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.CharBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON outbox-core reads and writes itself: a message's headers, a flat object of strings.
 * Payloads are never parsed here: they go to PostgreSQL as text, which checks them as {@code jsonb}.
 */
public final class Json {

    /**
     * Without the parser's limits on depth and lengths: {@code jsonb} takes values beyond them (an
     * object nested 2,000 deep, a number of 1,200 digits), and headers are only ever copied as
     * text here, never converted, so no such value costs more than the text already read.
     */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(Integer.MAX_VALUE)
                    .maxNumberLength(Integer.MAX_VALUE)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .build())
            .build();

    private Json() {
    }

    /** {@code headers} as a JSON object of strings. */
    public static String writeHeaders(Map<String, String> headers) {
        if (headers.isEmpty()) {
            return "{}";
        }
        StringWriter text = new StringWriter(32 * headers.size());
        try (JsonGenerator json = FACTORY.createGenerator(text)) {
            write(json, headers);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write headers as JSON", e); // a StringWriter does not fail
        }
        return text.toString();
    }

    /**
     * The length in UTF-8 bytes of {@link #writeHeaders}'s text for {@code headers}, counted as it
     * is generated, not held: a caller's oversized headers (escapes make a control character six
     * bytes) cost no more memory to measure than a small buffer. The text is generated exactly as
     * {@link #writeHeaders} generates it, as chars, and each char counted as its UTF-8 bytes: a byte
     * generator would differ, writing a character outside the BMP as a twelve-byte escape pair
     * where the text has it as four bytes. The text must have no lone surrogate
     * ({@link io.outboxkit.core.NewMessage} refuses one).
     */
    public static long headersLength(Map<String, String> headers) {
        if (headers.isEmpty()) {
            return 2;
        }
        Utf8Count count = new Utf8Count();
        try (JsonGenerator json = FACTORY.createGenerator(count)) {
            write(json, headers);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot count headers as JSON", e); // a Utf8Count does not fail
        }
        return count.bytes;
    }

    /**
     * The length in UTF-8 bytes of one header's part of {@link #writeHeaders}'s text,
     * {@code "name":"value"} with its escapes: counted as {@link #headersLength} counts the whole,
     * which is the headers' parts, a comma between two, and the braces.
     */
    public static long headerLength(String name, String value) {
        return headersLength(Map.of(name, value)) - 2;
    }

    private static void write(JsonGenerator json, Map<String, String> headers) throws IOException {
        json.writeStartObject();
        for (Map.Entry<String, String> header : headers.entrySet()) {
            json.writeStringField(header.getKey(), header.getValue());
        }
        json.writeEndObject();
    }

    /**
     * The length in UTF-8 bytes of {@code text}, which has no lone surrogate
     * ({@link io.outboxkit.core.NewMessage} refuses one): each half of a surrogate pair counts two.
     */
    public static long utf8Length(CharSequence text) {
        return utf8Length(text, 0, text.length());
    }

    private static long utf8Length(CharSequence text, int from, int to) {
        long bytes = 0;
        for (int i = from; i < to; i++) {
            bytes += utf8Bytes(text.charAt(i));
        }
        return bytes;
    }

    /** A char's UTF-8 bytes; a surrogate's half of its pair's four, so that a pair split across writes counts right. */
    private static int utf8Bytes(char c) {
        if (c < 0x80) {
            return 1;
        }
        if (c < 0x800 || Character.isSurrogate(c)) {
            return 2;
        }
        return 3;
    }

    /** An output that keeps only the number of UTF-8 bytes of the chars written to it ({@link #utf8Length}). */
    private static final class Utf8Count extends Writer {
        long bytes;

        @Override
        public void write(int c) {
            bytes += utf8Bytes((char) c);
        }

        @Override
        public void write(char[] chars, int off, int len) {
            bytes += utf8Length(CharBuffer.wrap(chars), off, off + len);
        }

        @Override
        public void write(String text, int off, int len) {
            bytes += utf8Length(text, off, off + len);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    /**
     * A message's stored headers read back. The table takes any {@code jsonb}, so a row written by
     * other means than {@link #writeHeaders} (a producer in another language, a hand-made fix) may
     * hold something else than an object of strings; it is read as follows, so that reading a
     * message never fails on its headers:
     * <ul>
     *   <li>a value that is not a JSON object ({@code null}, an array, a string, a number, a
     *       boolean) reads as no headers;</li>
     *   <li>a value inside the object that is not a string is kept as its JSON text, as PostgreSQL
     *       writes it: {@code 1}, {@code true}, {@code null}, <code>{"a": [1]}</code>.</li>
     * </ul>
     *
     * @param text {@code jsonb} as PostgreSQL writes it as text; null reads as no headers
     */
    public static Map<String, String> readHeaders(String text) {
        if (text == null || "{}".equals(text)) {
            return Map.of(); // most messages carry no headers: no parser for them
        }
        try (JsonParser json = FACTORY.createParser(text)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                return Map.of();
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
            // Not reached with text from a jsonb column, which PostgreSQL has checked: but a message
            // that could not be read would be claimed again, with the messages claimed beside it,
            // after every lease, and never delivered.
            return Map.of();
        }
    }
}
