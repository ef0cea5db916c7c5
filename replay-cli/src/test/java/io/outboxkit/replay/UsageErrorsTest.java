package io.outboxkit.replay;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bad arguments are refused before anything is done: exit 2 and one line on stderr that says what
 * is wrong and points at --help. The database here cannot be reached, so a command that got as far
 * as opening it would fail differently (exit 1).
 */
class UsageErrorsTest {

    private static final String SOME_ID = "0193a5e2-7c3f-7b1e-9f00-1234567890ab";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            ""                                                    | missing command
            foo                                                   | unknown command 'foo'
            list                                                  | Missing required option: '--status
            list --status nonsense                                | expected one of [PENDING, PUBLISHED, DEAD]
            list --status dead --limit 0                          | --limit must be from 1 to 10000, was 0
            list --status dead --limit 10001                      | --limit must be from 1 to 10000, was 10001
            list --status dead --limit many                       | '--limit'
            list --status dead --db-password hunter2              | there is no password option: set DB_PASSWORD
            requeue                                               | specify one of these
            requeue --id 0193a5e2-7c3f-7b1e-9f00-1234567890ab --dead | mutually exclusive
            requeue --dead --since 1h                             | mutually exclusive
            requeue --id not-a-uuid                               | 'not-a-uuid' is not a message id
            requeue --since garbage                               | 'garbage' is not a time
            requeue --since 5x                                    | '5x' is not a time
            duplicate --consumer-url ftp://example.com/messages   | is not an http:// or https:// URL
            duplicate --message-id 42                             | '42' is not a message id
            list --status dead --schema Messaging                 | --schema must be a lowercase SQL identifier of 1 to 63 characters (a letter or _, then letters, digits or _), was "Messaging"
            list --status dead --schema pg_catalog                | --schema must not start with pg_
            requeue --dead --outbox-table outbox;drop             | --outbox-table must be a lowercase SQL identifier
            requeue --dead --channel 1wake                        | --channel must be a lowercase SQL identifier
            list --status dead --after -1                         | --after must be a SEQ, 0 or more, was -1
            """)
    void bad_arguments_exit_2_with_one_line_naming_the_problem(String args, String expected) {
        Cli.Run run = Cli.withoutDatabase().run(args.isBlank() ? new String[0] : args.trim().split("\\s+"));

        assertThat(run.status()).as(run.err()).isEqualTo(ReplayCli.EXIT_USAGE);
        assertThat(run.out()).isEmpty();
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).contains(expected).contains("--help'").doesNotContain("hunter2", "Exception");
    }

    @ParameterizedTest
    @CsvSource({"--help", "list --help", "requeue --help", "duplicate --help"})
    void help_prints_usage_and_exits_0(String args) {
        Cli.Run run = Cli.withoutDatabase().run(args.split(" "));

        assertThat(run.status()).isZero();
        assertThat(run.out()).startsWith("Usage: replay-cli");
        assertThat(run.err()).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({"list", "requeue"})
    void no_option_takes_a_password_so_it_never_shows_in_the_process_list(String command) {
        Cli.Run run = Cli.withoutDatabase().run(command, "--help");

        assertThat(run.out()).doesNotContainIgnoringCase("--db-password").contains("DB_PASSWORD");
    }
}
