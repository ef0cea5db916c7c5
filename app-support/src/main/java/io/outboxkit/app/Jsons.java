package io.outboxkit.app;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.outboxkit.app.delivery.DeliveryProtocol;
import java.util.regex.Pattern;

/**
 * The services' JSON settings: strict on input (unknown fields refused), ISO-8601 times on output,
 * decimal numbers kept as written (a tree read and written again shows {@code 100.00}, not {@code 1E+2}).
 * Two mappers share them: {@link #mapper()} for the services' own API bodies, which refuses deep
 * nesting and long numbers, and {@link #messageMapper()} for message envelopes, whose payloads are
 * whatever the outbox holds.
 */
public final class Jsons {

    /** Deeper JSON than this is refused by {@link #mapper()}: nothing the services' own APIs accept nests more than a few levels. */
    public static final int MAX_NESTING_DEPTH = 64;
    /** A number with more characters than this is refused by {@link #mapper()}. */
    public static final int MAX_NUMBER_LENGTH = 100;
    /**
     * A message envelope's payload nesting deeper than this is refused, that envelope alone (see
     * {@link MessageEnvelope}): more than PostgreSQL's {@code jsonb} holds. {@code jsonb} nests as
     * deep as its server's {@code max_stack_depth} lets it: about 12,000 levels at the default 2 MB
     * and about 50,000 at 7,680 kB, the most a server under the usual 8 MB stack limit may set.
     */
    public static final int MAX_PAYLOAD_DEPTH = 65_536;
    /**
     * Deeper JSON than this is refused by {@link #messageMapper()}, a body of envelopes as a whole:
     * room for the envelopes around a payload, and a bound on what skipping the rest of a payload
     * nested deeper than {@link #MAX_PAYLOAD_DEPTH} costs (the parser keeps a little for each level).
     */
    private static final int MAX_MESSAGE_DEPTH = 2 * MAX_PAYLOAD_DEPTH;

    private static final ObjectMapper MAPPER = create(MAX_NESTING_DEPTH, MAX_NUMBER_LENGTH);
    // A payload is whatever jsonb accepted (numbers of 131,072 digits, nesting thousands deep): the
    // body's limit bounds a number's length, whose cost the fast parser keeps linear; nesting has a
    // bound of its own, beyond what jsonb holds, as a tree costs some hundred bytes for each level.
    private static final ObjectMapper MESSAGE_MAPPER = create(MAX_MESSAGE_DEPTH, Integer.MAX_VALUE);

    /**
     * The parts of Jackson's reasons that speak of its own settings, classes and source description
     * ("enable `JsonReadFeature...` to allow", "(start marker at [Source: REDACTED ...])", "(for
     * Object starting at [Source: ...])", ", from `StreamReadConstraints...`"): nothing the sender
     * of a document can act on; the location that follows says where the problem is.
     */
    private static final Pattern PARSER_INTERNALS = Pattern.compile(
            ": enable `[^`]*` to allow| \\((start marker|for \\w+ starting) at \\[Source: [^\\]]*]\\)"
            + "| \\(not recognized as one since Feature '\\w+' not enabled for parser\\)|, from `[^`]*`");

    private Jsons() {
    }

    /**
     * The shared, thread-safe mapper for the services' own request bodies: it refuses nesting deeper
     * than {@value #MAX_NESTING_DEPTH} and numbers longer than {@value #MAX_NUMBER_LENGTH}
     * characters. Do not reconfigure it.
     */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /**
     * The shared, thread-safe mapper for message envelopes and their payloads: as {@link #mapper()}
     * but with no limit on a number's length and nesting up to twice {@link #MAX_PAYLOAD_DEPTH},
     * reading or writing; the size of the body bounds the rest. Any payload PostgreSQL's {@code jsonb}
     * holds is read, as tokens or as a tree (Jackson builds a tree without recursing), and is
     * written again by a streaming copy: its text copied raw ({@link MessageEnvelope#toBytes}) or
     * token by token (the relay's console). Writing a tree is not bounded so: Jackson writes it
     * recursively, and one some thousands of levels deep (15,000, within what {@code jsonb} holds,
     * on a default thread stack) ends in a {@link StackOverflowError} well before the write limit;
     * write a payload from its text, never from a tree. Do not reconfigure it.
     */
    public static ObjectMapper messageMapper() {
        return MESSAGE_MAPPER;
    }

    /**
     * Why a JSON document could not be parsed, in words for whoever sent it: the parser's reason
     * and where it stopped ("Unexpected end-of-input: expected close marker for Object (line 1,
     * column 2)"), without the parser's settings, class names or source description.
     */
    public static String syntaxError(JacksonException e) {
        String reason = e.getOriginalMessage();
        reason = reason == null || reason.isBlank() ? "malformed JSON" : PARSER_INTERNALS.matcher(reason).replaceAll("");
        JsonLocation where = e.getLocation();
        if (where == null || where.getLineNr() < 1) {
            return reason;
        }
        return reason + " (line " + where.getLineNr() + (where.getColumnNr() < 1 ? "" : ", column " + where.getColumnNr()) + ")";
    }

    private static ObjectMapper create(int maxNestingDepth, int maxNumberLength) {
        ObjectMapper mapper = new ObjectMapper();
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(maxNestingDepth)
                .maxNumberLength(maxNumberLength)
                // A string or name cannot be longer than the body that carries it: the body's limit
                // bounds them, so that a payload the writer accepted is never refused for a string in it.
                .maxStringLength(DeliveryProtocol.MAX_REQUEST_BYTES)
                .maxNameLength(DeliveryProtocol.MAX_REQUEST_BYTES)
                .build());
        // what it reads a streaming copy writes again, however deep (a tree's writing recurses: see messageMapper)
        mapper.getFactory().setStreamWriteConstraints(StreamWriteConstraints.builder()
                .maxNestingDepth(Math.max(maxNestingDepth, StreamWriteConstraints.DEFAULT_MAX_DEPTH)).build());
        // linear rather than quadratic in a number's length, which only the body's size bounds in a message
        mapper.getFactory().enable(StreamReadFeature.USE_FAST_BIG_NUMBER_PARSER.mappedFeature());
        mapper.registerModule(new JavaTimeModule());
        mapper.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        // A tree keeps a number as written: 100.00 shown as the consumer receives it, not as 1E+2.
        mapper.configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        return mapper;
    }
}
