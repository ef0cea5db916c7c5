package io.outboxkit.spring.autoconfigure;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.context.annotation.Conditional;

/**
 * Matches when the boolean property {@link #value()} is true as Spring binds it into
 * {@link OutboxProperties}: {@code true}, {@code on}, {@code yes} or {@code 1}, in any case (and
 * {@code false}, {@code off}, {@code no}, {@code 0} do not match). Spring Boot's
 * {@code ConditionalOnBooleanProperty} matches only {@code true}, so {@code on} would be bound as true
 * while the beans it switches were left out, without a word. A value Spring cannot bind as a boolean
 * fails the start, naming the property.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@Conditional(OnSwitchCondition.class)
@interface ConditionalOnSwitch {

    /** The property, in its canonical form ({@code outboxkit.poller.enabled}). */
    String value();

    /** Whether an unset property matches. */
    boolean matchIfMissing() default false;
}
