package io.outboxkit.replay;

/** A command could not do what was asked; the message is the one line printed on stderr. */
final class CliFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    CliFailure(String message) {
        super(message);
    }
}
