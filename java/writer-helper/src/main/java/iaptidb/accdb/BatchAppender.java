package iaptidb.accdb;

import com.healthmarketscience.jackcess.Table;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds Jackcess rows from column-wise buffers and appends them with {@link Table#addRows}.
 *
 * <p>The Python writer (iapt_idb.accdb.jackcess_ops) hands each batch over one column at a time, as
 * the raw bytes of its Arrow/numpy buffers (one bulk copy per column, no Python object per value).
 * Numbers are in the platform's native byte order, as numpy holds them in the same process. The
 * Java values are exactly those of the per-value path: {@code Long} for integers and for
 * epoch-millisecond date-times, {@code Double}, {@code String}, and {@code null}.
 *
 * <p>{@code valid} has one byte per row, 0 for null; a {@code null} mask means the column has no nulls.
 *
 * <p>With a {@link BatchWriter}, {@link #append} hands the rows to the writer's thread and returns;
 * without one, it calls {@code addRows} itself.
 */
public final class BatchAppender {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final Table table;
    private final BatchWriter writer;
    private final Object[][] columns;
    private int rows = -1;

    public BatchAppender(Table table, BatchWriter writer) {
        this.table = table;
        this.writer = writer;
        this.columns = new Object[table.getColumnCount()][];
    }

    public BatchAppender(Table table) {
        this(table, null);
    }

    private Object[] column(int col, int n) {
        if (rows < 0) {
            rows = n;
        } else if (rows != n) {
            throw new IllegalArgumentException("column " + col + " has " + n + " values, expected " + rows);
        }
        Object[] out = new Object[n];
        columns[col] = out;
        return out;
    }

    private static boolean isNull(byte[] valid, int i) {
        return valid != null && valid[i] == 0;
    }

    /** Integers (and epoch-millisecond date-times) as {@code Long}: 8 bytes per row. */
    public void setLongs(int col, byte[] values, byte[] valid) {
        LongBuffer v = ByteBuffer.wrap(values).order(NATIVE).asLongBuffer();
        Object[] out = column(col, v.remaining());
        for (int i = 0; i < out.length; i++) {
            if (!isNull(valid, i)) {
                out[i] = Long.valueOf(v.get(i));
            }
        }
    }

    /** Doubles: 8 bytes per row. */
    public void setDoubles(int col, byte[] values, byte[] valid) {
        DoubleBuffer v = ByteBuffer.wrap(values).order(NATIVE).asDoubleBuffer();
        Object[] out = column(col, v.remaining());
        for (int i = 0; i < out.length; i++) {
            if (!isNull(valid, i)) {
                out[i] = Double.valueOf(v.get(i));
            }
        }
    }

    /**
     * Text as one UTF-8 buffer and {@code n + 1} int32 offsets into it (Arrow's string layout, rebased
     * to 0). A value equal to the previous row's shares its {@code String}.
     */
    public void setTexts(int col, byte[] utf8, byte[] offsetBytes, byte[] valid) {
        IntBuffer offsets = ByteBuffer.wrap(offsetBytes).order(NATIVE).asIntBuffer();
        Object[] out = column(col, offsets.remaining() - 1);
        String last = null;
        int lastStart = 0, lastLen = -1;
        for (int i = 0; i < out.length; i++) {
            if (isNull(valid, i)) {
                continue;
            }
            int start = offsets.get(i), len = offsets.get(i + 1) - start;
            if (len != lastLen || !Arrays.equals(utf8, start, start + len, utf8, lastStart, lastStart + len)) {
                last = new String(utf8, start, len, StandardCharsets.UTF_8);
                lastStart = start;
                lastLen = len;
            }
            out[i] = last;
        }
    }

    /** Values already converted to Java objects, one per row (any other column type). */
    public void setObjects(int col, Object[] values) {
        System.arraycopy(values, 0, column(col, values.length), 0, values.length);
    }

    /** A column that is null in every row. */
    public void setNulls(int col, int n) {
        column(col, n);
    }

    /**
     * Appends the batch (every column must be set), or queues it on the writer; clears it and returns
     * its row count.
     */
    public int append() throws Exception {
        int n = Math.max(rows, 0);
        Object[][] batch = new Object[n][columns.length];
        for (int c = 0; c < columns.length; c++) {
            Object[] values = columns[c];
            if (values == null) {
                throw new IllegalStateException("column " + c + " of table " + table.getName() + " was not set");
            }
            for (int i = 0; i < n; i++) {
                batch[i][c] = values[i];
            }
        }
        Arrays.fill(columns, null);
        rows = -1;
        if (n == 0) {
            return 0;
        }
        if (writer != null) {
            writer.submit(table, Arrays.asList(batch));
        } else {
            table.addRows(Arrays.asList(batch));
        }
        return n;
    }
}
