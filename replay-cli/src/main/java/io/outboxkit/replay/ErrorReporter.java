package io.outboxkit.replay;

import io.outboxkit.app.ConfigException;
import io.outboxkit.core.OutboxException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/** Turns every failure into one line on stderr and an exit status; never prints a stack trace. */
final class ErrorReporter implements IParameterExceptionHandler, IExecutionExceptionHandler {

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName();
        command.getErr().println(name + ": " + oneLine(e.getMessage()) + " (try '" + name + " --help')");
        return ReplayCli.EXIT_USAGE;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parsed) {
        String message;
        if (e instanceof CliFailure || e instanceof ConfigException || e instanceof OutboxException) {
            message = e.getMessage();
        } else {
            message = "unexpected error: " + rootMessage(e);
        }
        command.getErr().println(command.getCommandSpec().qualifiedName() + ": " + oneLine(message));
        return ReplayCli.EXIT_FAILED;
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    private static String oneLine(String text) {
        return text == null ? "failed" : text.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
