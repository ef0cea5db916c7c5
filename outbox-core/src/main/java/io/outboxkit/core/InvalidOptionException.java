package io.outboxkit.core;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A builder (or a settings record) refused one of its options. The message says what the option
 * may be and what it was, naming options by their builder methods ({@code batchSize},
 * {@code subjectPrefix}); {@link #option()} is the one to change. An application that sets options
 * from its own configuration (environment variables, Spring properties) reports the refusal in its
 * own names with {@link #reasonNaming(Function)}, rather than parsing the message.
 *
 * <p>The library's builders throw it for every option they check; an {@link IllegalArgumentException}
 * of another type from a builder concerns no single option. Immutable.
 */
public final class InvalidOptionException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String builder;
    private final List<String> options;
    private final String reason;

    /**
     * The refusal of {@code option}; {@code reason} names it, as in
     * {@code "batchSize must be 1 to 100, was 0"}.
     */
    public InvalidOptionException(String option, String reason) {
        this(null, List.of(option), reason);
    }

    /**
     * The refusal, by {@code builder} (the type it builds, or null), of the {@code options} named
     * in {@code reason}: the first is the one at fault, the others are named beside it (as in
     * {@code "maxBackoff (PT1S) must not be less than initialBackoff (PT5S)"}). The message is
     * {@code "<builder>: <reason>"}, or the reason alone without a builder.
     *
     * @throws IllegalArgumentException when {@code options} is empty
     */
    public InvalidOptionException(String builder, List<String> options, String reason) {
        super(builder == null ? reason : builder + ": " + reason);
        this.builder = builder;
        this.options = List.copyOf(options);
        this.reason = Objects.requireNonNull(reason, "reason");
        if (this.options.isEmpty()) {
            throw new IllegalArgumentException("an InvalidOptionException names at least one option");
        }
    }

    /** The type whose builder refused the option ({@code "OutboxPoller"}), when the message names it. */
    public Optional<String> builder() {
        return Optional.ofNullable(builder);
    }

    /** The option at fault, as its builder method is named. */
    public String option() {
        return options.get(0);
    }

    /** Every option the reason names: the one at fault first. */
    public List<String> options() {
        return options;
    }

    /** What is wrong, naming the options by their builder methods; the message without the builder. */
    public String reason() {
        return reason;
    }

    /**
     * The reason with each option it names given the name {@code naming} returns for it (an option
     * for which it returns null keeps its own name): with a Spring property's name,
     * {@code "outboxkit.batch-size must be 1 to 10000, was 0"}. Only an option's first mention is
     * renamed: a value quoted after it stays as it was.
     */
    public String reasonNaming(Function<String, String> naming) {
        Objects.requireNonNull(naming, "naming");
        String renamed = reason;
        for (String option : options) {
            String name = naming.apply(option);
            if (name != null) {
                // A whole word: not part of a longer name, nor of a dotted or hyphenated one.
                Matcher mention = Pattern.compile("(?<![\\w.-])" + Pattern.quote(option) + "(?![\\w-])").matcher(renamed);
                renamed = mention.replaceFirst(Matcher.quoteReplacement(name));
            }
        }
        return renamed;
    }
}
