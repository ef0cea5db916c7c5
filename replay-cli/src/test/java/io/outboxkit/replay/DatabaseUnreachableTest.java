package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** An unreachable database is one line that says where and what to check, with no stack trace or password. */
class DatabaseUnreachableTest {

    @Test
    void list_fails_with_one_clear_line() {
        Cli.Run run = Cli.withoutDatabase().with("DB_PASSWORD", "hunter2").run("list", "--status", "dead");

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("replay-cli list: cannot connect to PostgreSQL at " + Cli.UNREACHABLE_DB)
                .contains("DB_URL")
                .doesNotContain("hunter2", "Exception", "\tat ");
    }

    @Test
    void a_password_in_the_url_is_not_printed_either() {
        Cli.Run run = Cli.withoutDatabase().with("DB_URL", Cli.UNREACHABLE_DB + "?password=hunter2")
                .run("requeue", "--dead");

        assertThat(run.status()).isEqualTo(ReplayCli.EXIT_FAILED);
        assertThat(run.errLines()).singleElement().asString()
                .startsWith("replay-cli requeue: cannot connect to PostgreSQL")
                .contains("password=***")
                .doesNotContain("hunter2");
    }
}
