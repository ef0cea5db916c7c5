package io.outboxkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.NavigableSet;
import java.util.TreeSet;
import java.util.stream.LongStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * What a partition's commit says about the records dead-lettered beyond its offset, and what a queue read from it skips;
 * what a queue handed the partition back keeps of the one before.
 */
class PartitionQueueTest {

    private static SourceRecord record(long offset) {
        return SourceRecord.of(new ConsumerRecord<>("t", 0, offset, null, new byte[] {'x'}));
    }

    @Test
    void a_commit_names_the_records_dead_lettered_beyond_its_offset_and_a_queue_read_from_it_skips_them() {
        PartitionQueue first = new PartitionQueue();
        for (long offset = 0; offset < 6; offset++) {
            first.add(record(offset));
        }
        first.done(record(1));
        first.deadLettered(record(2));
        first.deadLettered(record(3));
        first.deadLettered(record(5));
        assertThat(first.committable()).isEqualTo(0);
        String metadata = first.commitMetadata().metadata();
        assertThat(metadata).isEqualTo(DeadLetteredOffsets.PREFIX + "2-3,5");

        PartitionQueue next = new PartitionQueue(DeadLetteredOffsets.decode(0, metadata));
        for (long offset = 0; offset < 7; offset++) {
            boolean queued = next.add(record(offset));
            assertThat(queued).as("offset %d queued", offset).isEqualTo(offset != 2 && offset != 3 && offset != 5);
        }
    }

    @Test
    void offsets_read_from_the_metadata_are_named_again_until_the_commit_passes_them() {
        PartitionQueue queue = new PartitionQueue(DeadLetteredOffsets.decode(10, DeadLetteredOffsets.PREFIX + "2,4"));
        queue.add(record(10));
        queue.add(record(11));
        queue.done(record(10));
        assertThat(queue.committable()).isEqualTo(11);
        assertThat(queue.commitMetadata().metadata()).isEqualTo(DeadLetteredOffsets.PREFIX + "1,3");

        queue.add(record(12)); // skipped
        queue.add(record(13));
        queue.done(record(11));
        assertThat(queue.committable()).isEqualTo(13);
        assertThat(queue.commitMetadata().metadata()).isEqualTo(DeadLetteredOffsets.PREFIX + "1");

        queue.add(record(14)); // skipped
        queue.done(record(13));
        assertThat(queue.committable()).isEqualTo(15);
        assertThat(queue.commitMetadata().metadata()).isEmpty();
    }

    @Test
    void a_queue_handed_the_partition_back_goes_on_with_the_attempts_and_backoff_of_the_records_failed_before() {
        PartitionQueue before = new PartitionQueue();
        SourceRecord failed = record(4);
        before.add(failed);
        before.add(record(5));
        failed.attempts = 2;
        failed.lastError = "amount is negative";
        failed.retryAtNanos = 42;

        PartitionQueue after = new PartitionQueue();
        after.goOnFrom(before);
        SourceRecord again = record(4);
        SourceRecord next = record(5);
        after.add(again);
        after.add(next);

        assertThat(again.attempts).isEqualTo(2);
        assertThat(again.lastError).isEqualTo("amount is negative");
        assertThat(again.retryAtNanos).isEqualTo(42);
        assertThat(next.attempts).as("never failed").isZero();
    }

    @Test
    void the_offsets_a_commits_metadata_has_no_room_for_are_left_out_the_lowest_kept() {
        NavigableSet<Long> everyOther = new TreeSet<>();
        LongStream.range(0, 5000).forEach(i -> everyOther.add(1_000_000 + 2 * i));

        DeadLetteredOffsets.Encoded encoded = DeadLetteredOffsets.encode(0, everyOther);

        assertThat(encoded.metadata().length()).isLessThanOrEqualTo(DeadLetteredOffsets.MAX_LENGTH);
        NavigableSet<Long> kept = DeadLetteredOffsets.decode(0, encoded.metadata());
        assertThat(kept).isEqualTo(everyOther.headSet(kept.last(), true));
        assertThat(encoded.leftOut()).isEqualTo(5000 - kept.size()).isPositive();
    }

    @Test
    void metadata_another_tool_wrote_skips_nothing_and_a_damaged_list_is_refused() {
        assertThat(DeadLetteredOffsets.decode(7, "")).isEmpty();
        assertThat(DeadLetteredOffsets.decode(7, null)).isEmpty();
        assertThat(DeadLetteredOffsets.decode(7, "reset by kafka-consumer-groups")).isEmpty();
        assertThatThrownBy(() -> DeadLetteredOffsets.decode(7, DeadLetteredOffsets.PREFIX + "3,x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3,x");
        assertThatThrownBy(() -> DeadLetteredOffsets.decode(7, DeadLetteredOffsets.PREFIX + "5-2"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5-2");
    }
}
