package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.spi.Causes;
import io.outboxkit.core.OutboxException;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** Turns every failure into one line on stderr and an exit status; never prints a stack trace. */
final class ErrorReporter implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName();
        command.getErr().println(name + ": " + oneLine(describe(e)) + " (try '" + name + " --help')");
        return ReplayCli.EXIT_USAGE;
    }

    private static String describe(ParameterException e) {
        if (e instanceof UnmatchedArgumentException) {
            List<String> unmatched = ((UnmatchedArgumentException) e).getUnmatched();
            if (unmatched.stream().anyMatch(arg -> arg.startsWith("-") && arg.toLowerCase(Locale.ROOT).contains("password"))) {
                // Not echoed: what follows such an option is likely a password.
                return "there is no password option: set DB_PASSWORD in the environment instead "
                        + "(a password on the command line shows in the process list)";
            }
            if (e.getCommandLine().getParent() == null && !unmatched.isEmpty() && !unmatched.get(0).startsWith("-")) {
                return "unknown command '" + unmatched.get(0) + "': choose duplicate, list or requeue";
            }
        }
        String message = e.getMessage() == null ? "bad arguments" : e.getMessage();
        return message.startsWith("Error: ") ? message.substring("Error: ".length()) : message;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parsed) {
        String message;
        if (e instanceof CliFailure || e instanceof ConfigException || e instanceof OutboxException) {
            message = e.getMessage();
        } else {
            message = "unexpected error: " + Causes.rootMessage(e);
        }
        command.getErr().println(command.getCommandSpec().qualifiedName() + ": " + oneLine(message));
        return ReplayCli.EXIT_FAILED;
    }

    private static String oneLine(String text) {
        return text == null ? "failed" : printable(text.replaceAll("\\s*\\R\\s*", " ").trim());
    }

    /**
     * {@code text} safe to print on a terminal: control and format characters (NUL, ESC, which
     * starts a terminal escape sequence, right-to-left overrides...) shown as {@code \\uXXXX}.
     * Arguments and stored messages are echoed in what the tool prints; they must not drive the terminal.
     */
    static String printable(String text) {
        StringBuilder out = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            int type = Character.getType(c);
            if (type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }
}
