package io.outboxkit.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.app.delivery.DeliveryProtocol;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonsTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            an object left open        | {"a": 1                                   | Unexpected end-of-input: expected close marker for Object (line 1, column 8)
            an object closed by ]      | {"a": 1]                                  | Unexpected close marker ']': expected '}' (line 1, column 8)
            NaN                        | {"a": NaN}                                | Non-standard token 'NaN' (line 1, column 10)
            a comment                  | {/* hi */ "a": 1}                         | Unexpected character ('/' (code 47)): maybe a (non-standard) comment? (line 1, column 2)
            nesting beyond the limit   | [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]] | Document nesting depth (65) exceeds the maximum allowed (64)
            a word that is not JSON    | hello                                     | Unrecognized token 'hello': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false') (line 1, column 1)
            """)
    void a_syntax_error_says_what_and_where_without_the_parsers_settings_or_classes(String name, String document, String said) {
        JacksonException error = catchThrowableOfType(JacksonException.class,
                () -> Jsons.mapper().readTree(document.getBytes(StandardCharsets.UTF_8)));

        assertThat(Jsons.syntaxError(error)).isEqualTo(said).doesNotContain("`", "Feature", "Source", "fasterxml");
    }

    @Test
    void a_string_or_name_as_long_as_a_consumer_request_may_be_is_read_so_only_the_body_limit_refuses_size() throws Exception {
        String longest = "x".repeat(DeliveryProtocol.MAX_REQUEST_BYTES - 10);

        JsonNode read = Jsons.mapper().readTree("{\"" + longest + "\": \"" + longest + "\"}");

        assertThat(read.path(longest).asText()).hasSize(longest.length());
    }

    @Test
    void the_message_mapper_reads_the_nesting_and_numbers_that_the_api_mapper_refuses() throws Exception {
        String deep = "[".repeat(Jsons.MAX_NESTING_DEPTH + 1) + "]".repeat(Jsons.MAX_NESTING_DEPTH + 1);
        String longNumber = "{\"n\":" + "1".repeat(Jsons.MAX_NUMBER_LENGTH + 1) + "}";

        assertThat(catchThrowableOfType(JacksonException.class, () -> Jsons.mapper().readTree(deep))).isNotNull();
        assertThat(catchThrowableOfType(JacksonException.class, () -> Jsons.mapper().readTree(longNumber))).isNotNull();
        assertThat(Jsons.messageMapper().readTree(deep).toString()).isEqualTo(deep);
        assertThat(Jsons.messageMapper().readTree(longNumber).toString()).isEqualTo(longNumber);
    }

    @Test
    void the_message_mapper_refuses_a_document_nesting_deeper_than_twice_a_payloads_limit() {
        int depth = 2 * Jsons.MAX_PAYLOAD_DEPTH + 1;
        String deep = "[".repeat(depth) + "]".repeat(depth);

        JacksonException refused = catchThrowableOfType(JacksonException.class, () -> Jsons.messageMapper().readTree(deep));
        assertThat(Jsons.syntaxError(refused)).startsWith("Document nesting depth (131073) exceeds the maximum allowed (131072)");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            trailing zeros      | {"amount":100.00}
            a whole number      | {"amount":100}
            an exponent         | {"amount":1E+2}
            a small fraction    | {"amount":0.000010}
            """)
    void a_number_read_into_a_tree_is_written_again_as_it_was_written(String name, String document) throws Exception {
        assertThat(Jsons.mapper().readTree(document).toString()).isEqualTo(document);
    }
}
