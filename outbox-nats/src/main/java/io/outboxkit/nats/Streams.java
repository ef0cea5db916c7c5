package io.outboxkit.nats;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.outboxkit.core.OutboxException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;

/** Makes sure a stream exists and takes the subjects it is meant to hold. */
final class Streams {

    /** JetStream's error code for an unknown stream. */
    static final int STREAM_NOT_FOUND = 10059;
    /** JetStream's error code for a sequence the stream does not hold (never stored, removed, or aged out). */
    static final int MESSAGE_NOT_FOUND = 10037;

    private Streams() {
    }

    /**
     * Creates {@code stream} (file storage, {@code subjects}, {@code duplicateWindow}, messages removed
     * {@code maxAge} after they were stored, or never when it is zero) if it does not exist; if it
     * does, checks that its subjects cover {@code subjects}. An existing stream keeps its own limits:
     * one that keeps every message for ever while {@code maxAge} asked for a limit is logged as a
     * warning saying how to set one.
     *
     * @return the stream's duplicate window, which for an existing stream may differ from the one asked
     *     for (logged as a warning: the stream belongs to whoever created it)
     * @throws OutboxException when the stream takes other subjects, another stream takes these, or
     *     JetStream does not answer
     */
    static Duration ensure(JetStreamManagement jsm, String owner, String stream, String subjects,
                           Duration duplicateWindow, Duration maxAge, Logger log) {
        try {
            StreamInfo info = infoOrNull(jsm, stream);
            if (info == null) {
                info = create(jsm, owner, stream, subjects, duplicateWindow, maxAge, log);
            }
            StreamConfiguration config = info.getConfiguration();
            List<String> taken = config.getSubjects();
            if (taken.stream().noneMatch(pattern -> covers(pattern, subjects))) {
                throw new OutboxException("[" + owner + "] NATS stream " + stream + " exists with subjects " + taken
                        + ", which do not cover " + subjects + ": name another stream, choose the subject prefix "
                        + "it holds, or add " + subjects + " to its subjects");
            }
            Duration window = config.getDuplicateWindow();
            if (!window.equals(duplicateWindow)) {
                log.warn("[{}] NATS stream {} has a duplicate window of {}, not {}: a message published again later "
                        + "than {} after the first is stored twice (an idempotent consumer skips it)", owner, stream,
                        window, duplicateWindow, window);
            }
            if (!maxAge.isZero() && keepsEverything(config)) {
                log.warn("[{}] NATS stream {} has no limit (no max age, message or byte limit): it keeps every message "
                        + "for ever, and the server's disk fills until JetStream refuses to store more; set one, e.g. "
                        + "`nats stream edit {} --max-age {}`, longer than a consumer may be down", owner, stream, stream,
                        cli(maxAge));
            }
            return window;
        } catch (IOException e) {
            throw new OutboxException("[" + owner + "] cannot set up NATS stream " + stream + ": "
                    + NatsConnector.describe(e), e);
        } catch (JetStreamApiException e) {
            throw new OutboxException("[" + owner + "] cannot set up NATS stream " + stream + " with subjects "
                    + subjects + ": " + e.getMessage(), e);
        }
    }

    /** {@code duration} as the nats CLI writes one: {@code 7d}, {@code 36h}, {@code 90m}, {@code 75s}. */
    private static String cli(Duration duration) {
        long seconds = duration.toSeconds();
        return seconds % 86_400 == 0 ? seconds / 86_400 + "d" : seconds % 3_600 == 0 ? seconds / 3_600 + "h"
                : seconds % 60 == 0 ? seconds / 60 + "m" : seconds + "s";
    }

    private static boolean keepsEverything(StreamConfiguration config) {
        return config.getRetentionPolicy() == RetentionPolicy.Limits && config.getMaxAge().isZero()
                && config.getMaxMsgs() <= 0 && config.getMaxBytes() <= 0 && config.getMaxMsgsPerSubject() <= 0;
    }

    private static StreamInfo create(JetStreamManagement jsm, String owner, String stream, String subjects,
                                     Duration duplicateWindow, Duration maxAge, Logger log)
            throws IOException, JetStreamApiException {
        StreamConfiguration config = StreamConfiguration.builder()
                .name(stream)
                .subjects(subjects)
                .storageType(StorageType.File)
                .duplicateWindow(duplicateWindow)
                .maxAge(maxAge)
                .build();
        try {
            StreamInfo info = jsm.addStream(config);
            log.info("[{}] created NATS stream {} (subjects {}, file storage, duplicate window {}, max age {})", owner,
                    stream, subjects, duplicateWindow, maxAge.isZero() ? "none" : maxAge);
            return info;
        } catch (JetStreamApiException e) {
            StreamInfo raced = infoOrNull(jsm, stream); // another process created it meanwhile
            if (raced != null) {
                return raced;
            }
            throw e;
        }
    }

    /**
     * Whether {@code stream} still holds the message at {@code sequence}; false only when JetStream
     * says it does not (removed by an operator, or by a limit of the stream).
     *
     * @throws JetStreamApiException any other answer, which tells nothing about the message
     */
    static boolean holds(JetStreamManagement jsm, String stream, long sequence) throws IOException, JetStreamApiException {
        try {
            jsm.getMessage(stream, sequence);
            return true;
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == MESSAGE_NOT_FOUND) {
                return false;
            }
            throw e;
        }
    }

    private static StreamInfo infoOrNull(JetStreamManagement jsm, String stream) throws IOException, JetStreamApiException {
        try {
            return jsm.getStreamInfo(stream);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() == STREAM_NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    /** Whether subject pattern {@code pattern} matches every subject that {@code wanted} matches. */
    static boolean covers(String pattern, String wanted) {
        String[] have = pattern.split("\\.");
        String[] want = wanted.split("\\.");
        for (int i = 0; i < have.length; i++) {
            if (have[i].equals(">")) {
                return true;
            }
            if (i >= want.length || want[i].equals(">") || !(have[i].equals("*") || have[i].equals(want[i]))) {
                return false;
            }
        }
        return have.length == want.length;
    }
}
