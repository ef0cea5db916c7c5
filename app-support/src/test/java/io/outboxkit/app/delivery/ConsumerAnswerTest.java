package io.outboxkit.app.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the relay reads from a consumer's answer: its fields when it is JSON, nothing when it is not. */
class ConsumerAnswerTest {

    @Test
    void a_json_answer_gives_its_status_and_error() {
        ConsumerAnswer answer = new ConsumerAnswer(422, "{\"status\":\"REJECTED\",\"error\":\"amount is required\"}");

        assertThat(answer.reportedStatus()).hasValue("REJECTED");
        assertThat(answer.error()).hasValue("amount is required");
        assertThat(answer.isSuccess()).isFalse();
    }

    @Test
    void an_answer_that_is_not_readable_json_gives_nothing_rather_than_failing_the_delivery() {
        assertThat(new ConsumerAnswer(200, "<html>ok</html>").reportedStatus()).isEmpty();
        assertThat(new ConsumerAnswer(200, "{\"status\":\"PROCESSED\",\"n\":1e9999999999}").reportedStatus()).isEmpty();
        assertThat(new ConsumerAnswer(500, "{\"error\":").error()).isEmpty();
    }
}
