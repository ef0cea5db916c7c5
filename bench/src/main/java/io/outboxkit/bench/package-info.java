/**
 * The benchmarks run by {@code bench/run.sh}: each figure of outboxkit is measured in the same run
 * as PostgreSQL's own ceiling for the same SQL (pgbench, with the scripts in {@code bench/pgbench}),
 * and reported as a ratio. {@link io.outboxkit.bench.BenchMain} runs the phases and writes the report.
 */
package io.outboxkit.bench;
