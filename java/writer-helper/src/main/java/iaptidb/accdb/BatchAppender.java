package iaptidb.accdb;

import com.healthmarketscience.jackcess.Table;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds Jackcess rows from column-wise buffers and appends them with {@link Table#addRows}.
 *
 * <p>The Python writer (iapt_idb.accdb.jackcess_ops) copies each batch's Arrow/numpy column buffers
 * into one staging buffer of its own and hands it over as a direct {@link ByteBuffer} over that memory
 * (no Java array is made for it, and nothing is copied by the hand-over), then calls one {@code set*}
 * method per column with the positions of that column's parts in the buffer. Numbers are in the
 * platform's native byte order, as numpy holds them in the same process. The Java values are exactly
 * those of the per-value path: {@code Long} for integers and for epoch-millisecond date-times,
 * {@code Double}, {@code String}, and {@code null}.
 *
 * <p>{@code validAt} is where the column's validity mask starts: one byte per row, 0 for null; {@code -1}
 * means the column has no nulls. The buffer is read only during the call.
 *
 * <p>With a {@link BatchWriter}, {@link #append} hands the rows to the writer's thread and returns;
 * without one, it calls {@code addRows} itself.
 */
public final class BatchAppender {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private final Table table;
    private final BatchWriter writer;
    private final int width;
    private final boolean[] set;
    private Object[][] rows; // the batch being built, row by row: each set* call fills its column in place
    // A column's parts, copied out of the buffer in bulk (one copy each) so that the loops read plain arrays.
    private byte[] text = new byte[0]; // UTF-8 bytes of a text column
    private int[] offsets = new int[0];
    private long[] numbers = new long[0]; // integers, or the bits of doubles
    private byte[] valid = new byte[0];

    public BatchAppender(Table table, BatchWriter writer) {
        this.table = table;
        this.writer = writer;
        this.width = table.getColumnCount();
        this.set = new boolean[width];
    }

    public BatchAppender(Table table) {
        this(table, null);
    }

    /** The batch's rows, made by the first column set; checks that a column has one value per row. */
    private Object[][] rows(int col, int n) {
        if (rows == null) {
            rows = new Object[n][width];
        } else if (rows.length != n) {
            throw new IllegalArgumentException("column " + col + " has " + n + " values, expected " + rows.length);
        }
        set[col] = true;
        return rows;
    }

    /** The column's validity bytes (0 for null), or null when {@code validAt} is -1 (no nulls). */
    private byte[] validity(ByteBuffer b, int validAt, int n) {
        if (validAt < 0) {
            return null;
        }
        if (valid.length < n) {
            valid = new byte[Math.max(n, 2 * valid.length)];
        }
        b.get(validAt, valid, 0, n);
        return valid;
    }

    /**
     * Numbers, 8 bytes per row from {@code at}: integers (and epoch-millisecond date-times) as {@code Long},
     * or with {@code doubles} as {@code Double}. A value equal to the previous row's shares its object.
     */
    public void setNumbers(int col, ByteBuffer buf, int at, int n, int validAt, boolean doubles) {
        ByteBuffer b = buf.duplicate().order(NATIVE);
        if (numbers.length < n) {
            numbers = new long[Math.max(n, 2 * numbers.length)];
        }
        long[] v = numbers;
        b.slice(at, 8 * n).order(NATIVE).asLongBuffer().get(v, 0, n);
        byte[] ok = validity(b, validAt, n);
        Object[][] out = rows(col, n);
        Object last = null;
        for (int i = 0; i < n; i++) {
            if (ok != null && ok[i] == 0) {
                continue;
            }
            if (last == null || v[i] != v[i - 1] || (ok != null && ok[i - 1] == 0)) {
                last = doubles ? (Object) Double.valueOf(Double.longBitsToDouble(v[i])) : Long.valueOf(v[i]);
            }
            out[i][col] = last;
        }
    }

    /**
     * Text: {@code n + 1} int32 offsets from {@code offsetsAt} (Arrow's string layout, rebased to 0) into
     * {@code bytes} UTF-8 bytes from {@code dataAt}. A value equal to the previous row's shares its
     * {@code String}.
     */
    public void setTexts(int col, ByteBuffer buf, int dataAt, int bytes, int offsetsAt, int n, int validAt) {
        ByteBuffer b = buf.duplicate().order(NATIVE);
        if (text.length < bytes) {
            text = new byte[Math.max(bytes, 2 * text.length)];
        }
        if (offsets.length < n + 1) {
            offsets = new int[Math.max(n + 1, 2 * offsets.length)];
        }
        byte[] utf8 = text;
        int[] off = offsets;
        b.get(dataAt, utf8, 0, bytes);
        b.slice(offsetsAt, 4 * (n + 1)).order(NATIVE).asIntBuffer().get(off, 0, n + 1);
        byte[] ok = validity(b, validAt, n);
        Object[][] out = rows(col, n);
        String last = null;
        int lastStart = 0, lastLen = -1;
        for (int i = 0; i < n; i++) {
            if (ok != null && ok[i] == 0) {
                continue;
            }
            int start = off[i], len = off[i + 1] - start;
            if (len != lastLen || !Arrays.equals(utf8, start, start + len, utf8, lastStart, lastStart + len)) {
                last = new String(utf8, start, len, StandardCharsets.UTF_8);
                lastStart = start;
                lastLen = len;
            }
            out[i][col] = last;
        }
    }

    /** Values already converted to Java objects, one per row (any other column type). */
    public void setObjects(int col, Object[] values) {
        Object[][] out = rows(col, values.length);
        for (int i = 0; i < out.length; i++) {
            out[i][col] = values[i];
        }
    }

    /** A column that is null in every row. */
    public void setNulls(int col, int n) {
        rows(col, n);
    }

    /**
     * Appends the batch (every column must be set), or queues it on the writer; clears it and returns
     * its row count.
     */
    public int append() throws Exception {
        for (int c = 0; c < width; c++) {
            if (!set[c]) {
                throw new IllegalStateException("column " + c + " of table " + table.getName() + " was not set");
            }
        }
        Object[][] batch = rows == null ? new Object[0][] : rows;
        int n = batch.length;
        Arrays.fill(set, false);
        rows = null;
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
