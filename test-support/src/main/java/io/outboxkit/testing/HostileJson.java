package io.outboxkit.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A seeded generator of malformed and adversarial JSON request bodies, for hostile-input tests.
 *
 * <p>{@link #mutate} takes a valid body and changes it one to four times, structurally (a field
 * set to a value of the wrong type, removed, renamed, duplicated, an unknown one added, the whole
 * body replaced) and byte by byte (truncated, a bit flipped, bytes inserted or deleted, a span
 * duplicated, an invalid UTF-8 sequence or a byte-order mark added). {@link #value} draws from huge
 * and malformed numbers, {@link #nastyStrings()}, deep nesting and large containers. Everything is
 * drawn from the {@link Random} given, so one seed gives the same cases again: create one generator
 * per case with {@link #forCase(long, int)} and a failing case can be replayed alone.
 *
 * <p>A mutation may leave the body valid (a flipped hex digit of a UUID is another UUID): a test
 * decides what each body should get with its own oracle. Not thread-safe.
 */
public final class HostileJson {

    private static final ObjectMapper RAW = JsonMapper.builder().build();
    private static final ObjectMapper ESCAPED = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Numbers and literals as JSON text, well-formed or not. */
    private static final List<String> RAW_VALUES = List.of(
            "0", "-0", "-1", "0.0", "1", "0.01", "0.001", "100.123", "99999999.99", "99999999.999", "100000000",
            "1e999999999", "-1E+999999999", "1e-999999999", "1E2", "1.0e2", "1e-2", "123456789012345678901234567890",
            "9".repeat(99), "9".repeat(101), "0." + "0".repeat(97) + "1", "1" + "0".repeat(60) + "e-60",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "4294967296",
            "01", "+1", ".5", "1.", "0x10", "1e", "--1", "1_000", "NaN", "-Infinity", "Infinity", "1e+", "\u0661",
            "true", "false", "null", "nul", "tru", "[]", "{}", "[1,]", "{\"a\"}", "[null]", "{\"a\":1}", "\"\"",
            "'single'", "undefined", "", " ");

    private final Random random;

    /** A generator drawing from {@code random}. */
    public HostileJson(Random random) {
        this.random = random;
    }

    /** The generator of case {@code index} of the run with {@code seed}: independent of every other case. */
    public static HostileJson forCase(long seed, int index) {
        return new HostileJson(new Random(seed ^ (0x9E3779B97F4A7C15L * (index + 1))));
    }

    /** The random source, for a test's own choices within the same case. */
    public Random random() {
        return random;
    }

    /** One of {@code options}. */
    public <T> T pick(List<T> options) {
        return options.get(random.nextInt(options.size()));
    }

    /**
     * Strings that break careless code: SQL, quotes and backslashes, NUL, lone and reversed surrogates,
     * right-to-left and zero-width characters, line separators, format and template strings, paths,
     * markup, UUID and time look-alikes (some of them valid), and an empty one.
     */
    public static List<String> nastyStrings() {
        return List.of(
                "", " ", "null", "undefined", "true", "0", "-1", "NaN",
                "'; DROP TABLE orders; --", "\"; DROP TABLE outbox; --", "' OR '1'='1", "1' OR 1=1 --",
                "1; SELECT pg_sleep(10)", "'); DELETE FROM idempotency_keys; --", "$$; DROP TABLE processed_messages; $$",
                "\\'; TRUNCATE customer_totals; --", "Robert'); DROP TABLE orders;--", "%' OR 1=1; --",
                "\u0000", "abc\u0000def", "\ud800", "\udc00", "\ud800\ud800", "\udfff\ud800x", "\u202eRTL override",
                "\u200b\u200c\u200d\ufeff", "\uffff", "\ufffe", "\ud83d\ude42", "\ud835\udd4f", "e\u0301", "\ufdfa",
                "\u0085\u2028\u2029", "\r\nX-Injected: 1", "\t", "\u001b[31mred", "\u007f",
                "%s%s%s%n", "%x%x%x", "{0}", "${jndi:ldap://127.0.0.1/a}", "#{7*7}", "{{7*7}}",
                "../../../../etc/passwd", "..\\..\\windows\\win.ini", "<script>alert(1)</script>", "\\u0000", "\\", "\"",
                "550E8400-E29B-41D4-A716-446655440000", "550e8400e29b41d4a716446655440000",
                "{550e8400-e29b-41d4-a716-446655440000}", "550e8400-e29b-41d4-a716-44665544000",
                "550e8400-e29b-41d4-a716-4466554400000", "550e8400-e29b-41d4-a716-44665544000g", "1-1-1-1-1",
                "00000000-0000-0000-0000-000000000000", "550e8400-e29b-41d4-a716-446655440000\u0000",
                " 550e8400-e29b-41d4-a716-446655440000", "550\u04358400-e29b-41d4-a716-446655440000",
                "urn:uuid:550e8400-e29b-41d4-a716-446655440000", "2026-11-26T15:00:00Z", "2026-13-40T99:99:99Z",
                "yesterday", "+1000000000-01-01T00:00:00Z", "2026-11-26T15:00:00+25:00", "100", "1e2", "-5", "0x10",
                "x".repeat(201));
    }

    /**
     * A JSON value of a hostile kind: a malformed or extreme number or literal (as raw text, so it
     * may be invalid JSON), a nasty or huge string, a deep nesting, or a large container.
     */
    public JsonNode value() {
        switch (random.nextInt(8)) {
            case 0:
            case 1:
                return raw(pick(RAW_VALUES));
            case 2:
            case 3:
                return NODES.textNode(pick(nastyStrings()));
            case 4:
                return NODES.textNode("A".repeat(1 + random.nextInt(random.nextBoolean() ? 300 : 20_000)));
            case 5: {
                int depth = 2 + random.nextInt(random.nextBoolean() ? 40 : 400);
                return random.nextBoolean() ? raw("[".repeat(depth) + "]".repeat(depth))
                        : raw("{\"a\":".repeat(depth) + "1" + "}".repeat(depth));
            }
            case 6: {
                ArrayNode array = NODES.arrayNode();
                int size = random.nextInt(random.nextBoolean() ? 5 : 3_000);
                for (int i = 0; i < size; i++) {
                    array.add(i % 2 == 0 ? NODES.numberNode(i) : NODES.textNode("x"));
                }
                return array;
            }
            default: {
                ObjectNode object = NODES.objectNode();
                object.set(pick(nastyStrings()), NODES.textNode(pick(nastyStrings())));
                return object;
            }
        }
    }

    /** The bytes of {@code valid} changed one to four times; {@code valid} itself is left as it is. */
    public byte[] mutate(ObjectNode valid) {
        if (random.nextInt(12) == 0) {
            return textual(serialize(value()), 0);
        }
        ObjectNode copy = valid.deepCopy();
        int structural = random.nextInt(3);
        for (int i = 0; i < structural; i++) {
            structural(copy);
        }
        byte[] bytes = serialize(copy);
        if (random.nextInt(8) == 0) {
            bytes = duplicateField(copy, bytes);
            structural++;
        }
        return textual(bytes, structural == 0 ? 1 + random.nextInt(2) : random.nextInt(2));
    }

    /** {@code bytes} changed one or two times byte by byte (truncated, flipped, spliced...). */
    public byte[] mutateBytes(byte[] bytes) {
        return textual(bytes, 1 + random.nextInt(2));
    }

    /** {@code node} as JSON bytes: raw UTF-8, or every non-ASCII character escaped (lone surrogates included). */
    public byte[] serialize(JsonNode node) {
        try {
            if (random.nextBoolean()) {
                return RAW.writeValueAsBytes(node);
            }
        } catch (JsonProcessingException e) {
            // a lone surrogate cannot be written as UTF-8: escaped below
        }
        try {
            return ESCAPED.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a generated body", e);
        }
    }

    private void structural(ObjectNode root) {
        ObjectNode target = randomObject(root);
        List<String> names = new ArrayList<>();
        target.fieldNames().forEachRemaining(names::add);
        String name = names.isEmpty() ? "field" : pick(names);
        switch (random.nextInt(6)) {
            case 0:
            case 1:
                target.set(name, value());
                break;
            case 2:
                target.remove(name);
                break;
            case 3:
                target.set(random.nextBoolean() ? pick(nastyStrings()) : name + pick(List.of("_", " ", "\u200b", "2")),
                        random.nextBoolean() ? value() : target.path(name).deepCopy());
                break;
            case 4: {
                JsonNode old = target.remove(name);
                if (old != null) {
                    target.set(pick(List.of(name.toUpperCase(java.util.Locale.ROOT), " " + name, name + " ",
                            name.replace('_', '-'), name.replace("_", ""))), old);
                }
                break;
            }
            default: {
                JsonNode old = target.path(name);
                if (old.isTextual()) {
                    // the string's content unquoted (100 for "100"), when UTF-8 can carry it
                    String text = old.textValue();
                    boolean writable = StandardCharsets.UTF_8.newEncoder().canEncode(text);
                    target.set(name, raw(text.length() < 40 && writable ? text : "1"));
                } else if (old.isNumber()) {
                    target.put(name, old.asText());
                } else {
                    target.set(name, value());
                }
            }
        }
    }

    /** The root, or (half the time) one of the objects nested in it. */
    private ObjectNode randomObject(ObjectNode root) {
        List<ObjectNode> objects = new ArrayList<>(List.of(root));
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            JsonNode child = it.next().getValue();
            if (child instanceof ObjectNode nested) {
                objects.add(nested);
            }
        }
        return random.nextBoolean() ? root : pick(objects);
    }

    /** Repeats one field of the root (same name, maybe another value) just before the closing brace. */
    private byte[] duplicateField(ObjectNode root, byte[] bytes) {
        List<String> names = new ArrayList<>();
        root.fieldNames().forEachRemaining(names::add);
        int close = lastIndexOf(bytes, (byte) '}');
        if (names.isEmpty() || close < 0) {
            return bytes;
        }
        String name = pick(names);
        JsonNode value = random.nextBoolean() ? root.get(name) : value();
        byte[] field = serialize(NODES.objectNode().set(name, value));
        byte[] inner = Arrays.copyOfRange(field, 1, field.length - 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(bytes, 0, close);
        out.write(',');
        out.writeBytes(inner);
        out.write(bytes, close, bytes.length - close);
        return out.toByteArray();
    }

    private byte[] textual(byte[] bytes, int times) {
        byte[] result = bytes;
        for (int i = 0; i < times; i++) {
            result = textualOnce(result);
        }
        return result;
    }

    private static final byte[] INTERESTING = {0x00, 0x01, 0x7f, (byte) 0x80, (byte) 0xbf, (byte) 0xc0, (byte) 0xc3,
        (byte) 0xe2, (byte) 0xed, (byte) 0xf0, (byte) 0xf5, (byte) 0xff, '"', '\\', '{', '}', '[', ']', ',', ':', ' ',
        '\n', '\t', '0', '9', '-', '+', 'e', '.', 'n', '/', '*', '\''};

    private static final List<byte[]> INSERTS = List.of(
            new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80},             // an encoded surrogate
            new byte[] {(byte) 0xc0, (byte) 0xaf},                           // an overlong '/'
            new byte[] {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            new byte[] {(byte) 0xe2, (byte) 0x80, (byte) 0xae},             // U+202E, raw
            "\\u0000".getBytes(StandardCharsets.US_ASCII),
            "\\ud800".getBytes(StandardCharsets.US_ASCII),
            "\\uZZZZ".getBytes(StandardCharsets.US_ASCII),
            "/* comment */".getBytes(StandardCharsets.US_ASCII),
            "NaN".getBytes(StandardCharsets.US_ASCII),
            "'; DROP TABLE orders; --".getBytes(StandardCharsets.US_ASCII));

    private byte[] textualOnce(byte[] bytes) {
        int n = bytes.length;
        int at = n == 0 ? 0 : random.nextInt(n + 1);
        switch (random.nextInt(10)) {
            case 0:
                return Arrays.copyOf(bytes, n == 0 ? 0 : random.nextInt(n));
            case 1: {
                if (n == 0) {
                    return bytes;
                }
                byte[] copy = bytes.clone();
                int i = random.nextInt(n);
                copy[i] ^= (byte) (1 << random.nextInt(8));
                return copy;
            }
            case 2: {
                if (n == 0) {
                    return bytes;
                }
                byte[] copy = bytes.clone();
                copy[random.nextInt(n)] = INTERESTING[random.nextInt(INTERESTING.length)];
                return copy;
            }
            case 3:
                return splice(bytes, at, at, new byte[] {INTERESTING[random.nextInt(INTERESTING.length)]});
            case 4: {
                int end = Math.min(n, at + 1 + random.nextInt(8));
                return splice(bytes, Math.min(at, end), end, new byte[0]);
            }
            case 5: {
                int end = Math.min(n, at + 1 + random.nextInt(16));
                return splice(bytes, at, at, Arrays.copyOfRange(bytes, Math.min(at, end), end));
            }
            case 6:
                return splice(bytes, at, at, pick(INSERTS));
            case 7:
                return splice(bytes, 0, 0, random.nextBoolean() ? new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf}
                        : new byte[] {(byte) 0xfe, (byte) 0xff});
            case 8:
                return splice(bytes, n, n, pick(List.of(" x", "}", ",", "\u0000", " {}", "\n\n", "]"))
                        .getBytes(StandardCharsets.UTF_8));
            default: {
                // swap two bytes
                if (n < 2) {
                    return bytes;
                }
                byte[] copy = bytes.clone();
                int i = random.nextInt(n);
                int j = random.nextInt(n);
                byte t = copy[i];
                copy[i] = copy[j];
                copy[j] = t;
                return copy;
            }
        }
    }

    private static byte[] splice(byte[] bytes, int from, int to, byte[] insert) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length + insert.length);
        out.write(bytes, 0, from);
        out.writeBytes(insert);
        out.write(bytes, to, bytes.length - to);
        return out.toByteArray();
    }

    private static int lastIndexOf(byte[] bytes, byte b) {
        for (int i = bytes.length - 1; i >= 0; i--) {
            if (bytes[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static JsonNode raw(String text) {
        return NODES.rawValueNode(new RawValue(text));
    }
}
