package io.outboxkit.spring.autoconfigure;

import java.util.Map;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * The condition of {@link ConditionalOnSwitch}: the property bound with Spring's {@link Binder}, the
 * one that binds {@link OutboxProperties}, so the condition and the bound value always agree.
 */
final class OnSwitchCondition extends SpringBootCondition {

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Map<String, Object> attributes = metadata.getAnnotationAttributes(ConditionalOnSwitch.class.getName());
        String property = (String) attributes.get("value");
        boolean matchIfMissing = (Boolean) attributes.get("matchIfMissing");
        ConditionMessage.Builder message = ConditionMessage.forCondition(ConditionalOnSwitch.class, property);
        // A value that is no boolean throws Spring's BindException here, which names the property and value.
        Boolean value = Binder.get(context.getEnvironment()).bind(property, Boolean.class).orElse(null);
        if (value == null) {
            return matchIfMissing ? ConditionOutcome.match(message.because("it is not set"))
                    : ConditionOutcome.noMatch(message.because("it is not set"));
        }
        return value ? ConditionOutcome.match(message.because("it is true"))
                : ConditionOutcome.noMatch(message.because("it is false"));
    }
}
