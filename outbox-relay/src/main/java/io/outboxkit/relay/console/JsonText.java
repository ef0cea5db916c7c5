package io.outboxkit.relay.console;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.outboxkit.app.Jsons;
import io.outboxkit.core.spi.Texts;
import java.io.IOException;
import java.io.Writer;

/** JSON as an operator reads it: indented, and cut where it is too long to show. */
final class JsonText {

    /** The most characters of a payload or envelope shown: more is cut, and the page says so. */
    static final int MAX_SHOWN = 256 * 1024;

    private JsonText() {
    }

    /**
     * {@code json} indented, however deeply it nests, each number spelt as in {@code json}; as it is when it
     * cannot be parsed; cut at {@link #MAX_SHOWN}. Never throws for what {@code json} holds.
     */
    static String pretty(String json) {
        // Copied token by token, not through a tree (written recursively), with the message mapper
        // (no depth limit), so a payload as deep as jsonb holds is indented too; its indentation
        // grows with the square of its depth, so writing stops once more than is shown is written.
        Shown out = new Shown();
        try (JsonParser parser = Jsons.messageMapper().createParser(json);
             JsonGenerator generator = Jsons.messageMapper().createGenerator(out).useDefaultPrettyPrinter()) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                return cut(json);
            }
            int depth = 0;
            do {
                if (token.isNumeric()) {
                    // its text as stored: a copy writes a decimal as BigDecimal spells it, 0.0000001 as 1E-7
                    generator.writeNumber(parser.getText());
                } else {
                    generator.copyCurrentEvent(parser);
                }
                depth += token.isStructStart() ? 1 : token.isStructEnd() ? -1 : 0;
            } while (depth > 0 && (token = parser.nextToken()) != null);
            if (parser.nextToken() != null) {
                return cut(json);
            }
        } catch (Shown.Full full) {
            return out.text + "\n… (more not shown)";
        } catch (IOException | RuntimeException e) {
            return cut(json);
        }
        return out.text.toString();
    }

    private static String cut(String text) {
        if (text.length() <= MAX_SHOWN) {
            return text;
        }
        String kept = Texts.cut(text, MAX_SHOWN);
        return kept + "\n… (" + (text.length() - kept.length()) + " more characters not shown)";
    }

    /**
     * The first {@link #MAX_SHOWN} characters written to it, one fewer where the last would be the
     * first half of a surrogate pair; writing more throws {@link Full}.
     */
    private static final class Shown extends Writer {

        private final StringBuilder text = new StringBuilder();

        @Override
        public void write(char[] chars, int offset, int length) throws Full {
            int room = MAX_SHOWN - text.length();
            // One past the room, so that the cut sees whether it would split a pair.
            text.append(chars, offset, Math.min(room + 1, length));
            if (length > room) {
                text.setLength(Texts.cut(text.toString(), MAX_SHOWN).length());
                throw new Full();
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }

        /** More was written than is shown. */
        private static final class Full extends IOException {
            Full() {
                super("more than " + MAX_SHOWN + " characters");
            }
        }
    }
}
