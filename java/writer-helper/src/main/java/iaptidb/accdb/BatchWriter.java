package iaptidb.accdb;

import com.healthmarketscience.jackcess.Table;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link Table#addRows} on one background thread, in submission order, so that Jackcess writes
 * one batch while the caller reads and converts the next.
 *
 * <p>Only this thread touches the database between the first {@link #submit} and {@link #finish}: the
 * caller must open every {@link Table} it will use beforehand and must not use the database until
 * {@code finish} returns. At most {@value #MAX_PENDING} batches wait or run at any time (bounded memory).
 *
 * <p>The first failure stops the writing; later batches are dropped. It is thrown again, unchanged
 * (the same exception object, e.g. Jackcess's {@code BatchUpdateException} with its update count), by
 * the next {@code submit} or by {@code finish}, and {@link #failedBatch} tells which batch (0-based, in
 * submission order) it was.
 */
public final class BatchWriter implements AutoCloseable {
    public static final int MAX_PENDING = 3;

    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "iapt-idb-accdb-writer");
        t.setDaemon(true);
        return t;
    });
    private final Semaphore slots = new Semaphore(MAX_PENDING);
    private volatile Throwable failure;
    private volatile boolean closed;
    private volatile long failedBatch = -1;
    private long submitted;

    /** Queues one batch of rows for {@code table}; blocks while {@value #MAX_PENDING} batches are pending. */
    public void submit(Table table, List<Object[]> rows) throws Exception {
        rethrow();
        slots.acquire();
        final long batch = submitted++;
        try {
            thread.execute(() -> {
                try {
                    if (failure == null && !closed) {
                        table.addRows(rows);
                    }
                } catch (Throwable e) {
                    failedBatch = batch;
                    failure = e;
                } finally {
                    slots.release();
                }
            });
        } catch (RuntimeException e) {
            slots.release();
            throw e;
        }
    }

    /** Waits until every submitted batch is written; throws the first failure, if any. */
    public void finish() throws Exception {
        slots.acquire(MAX_PENDING);
        slots.release(MAX_PENDING);
        rethrow();
    }

    /** The 0-based submission number of the batch that failed, or -1. */
    public long failedBatch() {
        return failure == null ? -1 : failedBatch;
    }

    private void rethrow() throws Exception {
        Throwable f = failure;
        if (f instanceof Exception) {
            throw (Exception) f;
        }
        if (f instanceof Error) {
            throw (Error) f;
        }
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    /**
     * Stops the thread after the batch it is writing, if any (never interrupted: an interrupt would close
     * the file's channel); batches still queued are dropped.
     */
    @Override
    public void close() {
        closed = true;
        thread.shutdown();
        try {
            thread.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
