/* PostgreSQL's binary COPY rows cut into Arrow columns and joined back, in C: a million rows
 * of eight fields are eight million length-prefixed fields, too many for a Python loop.
 *
 * A column comes out as the three buffers of an Arrow binary array (validity bitmap, int32
 * offsets, data) holding each field's bytes exactly as the server sent them; nothing is
 * decoded here. Both directions check every length against the buffer they walk: malformed
 * input is a ValueError, never a read past the end. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const char SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static PyObject *malformed(const char *what) {
    PyErr_Format(PyExc_ValueError, "binary COPY data: %s", what);
    return NULL;
}

/* Walks the rows of [p, end): with `sizes` NULL it counts rows and each column's bytes into
 * rows_out and bytes_out; otherwise it fills the columns' buffers. Returns the position after
 * the last row (or after the trailer, setting *ended), or NULL with an exception set. */
static const unsigned char *walk(const unsigned char *p, const unsigned char *end, int ncols,
                                 Py_ssize_t *rows_out, Py_ssize_t *bytes_out, int *ended,
                                 unsigned char **data, int32_t **offsets, unsigned char **validity) {
    Py_ssize_t row = 0;
    while (p < end) {
        if (end - p < 2) {
            return (const unsigned char *)malformed("a row cut short");
        }
        int16_t count = (int16_t)(((uint16_t)p[0] << 8) | p[1]);
        p += 2;
        if (count == -1) {
            if (p != end) {
                return (const unsigned char *)malformed("data after the trailer");
            }
            *ended = 1;
            break;
        }
        if (count != ncols) {
            PyErr_Format(PyExc_ValueError, "binary COPY data: a row of %d fields, expected %d",
                         (int)count, ncols);
            return NULL;
        }
        for (int c = 0; c < ncols; c++) {
            if (end - p < 4) {
                return (const unsigned char *)malformed("a field length cut short");
            }
            int32_t length = (int32_t)get32(p);
            p += 4;
            if (length < -1 || (length > 0 && end - p < length)) {
                return (const unsigned char *)malformed("a field longer than the data");
            }
            if (length == -1) {
                if (offsets) {
                    offsets[c][row + 1] = offsets[c][row];
                }
                continue;
            }
            if (offsets) {
                memcpy(data[c] + offsets[c][row], p, (size_t)length);
                offsets[c][row + 1] = offsets[c][row] + length;
                validity[c][row >> 3] |= (unsigned char)(1u << (row & 7));
            } else {
                if (bytes_out[c] > INT32_MAX - length) {
                    return (const unsigned char *)malformed("a column over 2 GB in one block");
                }
                bytes_out[c] += length;
            }
            p += length;
        }
        row++;
    }
    *rows_out = row;
    return p;
}

/* split(block, ncols, at_start) -> (rows, [(validity, offsets, data, null_count)], ended):
 * `block` holds whole rows (the header first when at_start, the trailer last once the COPY
 * ends). */
static PyObject *split(PyObject *self, PyObject *args) {
    Py_buffer block;
    int ncols, at_start;
    if (!PyArg_ParseTuple(args, "y*ip", &block, &ncols, &at_start)) {
        return NULL;
    }
    PyObject *result = NULL, *columns = NULL;
    Py_ssize_t *bytes = NULL;
    unsigned char **data = NULL, **validity = NULL;
    int32_t **offsets = NULL;
    const unsigned char *p = block.buf, *end = p + block.len;
    if (ncols <= 0 || ncols > 1664) {
        malformed("the number of columns must be from 1 to 1664");
        goto done;
    }
    if (at_start) {
        if (block.len < 19 || memcmp(p, SIGNATURE, 11) != 0) {
            malformed("no PGCOPY signature");
            goto done;
        }
        uint32_t flags = get32(p + 11), extension = get32(p + 15);
        if (flags & (1u << 16)) {
            malformed("rows with OIDs");
            goto done;
        }
        if (extension > (uint32_t)(block.len - 19)) {
            malformed("a header extension longer than the data");
            goto done;
        }
        p += 19 + extension;
    }
    bytes = PyMem_Calloc((size_t)ncols, sizeof(Py_ssize_t));
    data = PyMem_Calloc((size_t)ncols, sizeof(unsigned char *));
    validity = PyMem_Calloc((size_t)ncols, sizeof(unsigned char *));
    offsets = PyMem_Calloc((size_t)ncols, sizeof(int32_t *));
    columns = PyList_New(ncols);
    if (!bytes || !data || !validity || !offsets || !columns) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t rows = 0;
    int ended = 0;
    if (!walk(p, end, ncols, &rows, bytes, &ended, NULL, NULL, NULL)) {
        goto done;
    }
    for (int c = 0; c < ncols; c++) { /* the columns' buffers, filled by the second walk */
        PyObject *v = PyBytes_FromStringAndSize(NULL, (rows + 7) / 8);
        PyObject *o = PyBytes_FromStringAndSize(NULL, (rows + 1) * 4);
        PyObject *d = PyBytes_FromStringAndSize(NULL, bytes[c]);
        PyObject *item = PyTuple_New(4);
        if (!v || !o || !d || !item) {
            Py_XDECREF(v);
            Py_XDECREF(o);
            Py_XDECREF(d);
            Py_XDECREF(item);
            goto done;
        }
        PyTuple_SET_ITEM(item, 0, v);
        PyTuple_SET_ITEM(item, 1, o);
        PyTuple_SET_ITEM(item, 2, d);
        PyList_SET_ITEM(columns, c, item);
        validity[c] = (unsigned char *)PyBytes_AS_STRING(v);
        offsets[c] = (int32_t *)PyBytes_AS_STRING(o);
        data[c] = (unsigned char *)PyBytes_AS_STRING(d);
        memset(validity[c], 0, (size_t)((rows + 7) / 8));
        offsets[c][0] = 0;
    }
    Py_ssize_t filled = 0;
    walk(p, end, ncols, &filled, NULL, &ended, data, offsets, validity);
    for (int c = 0; c < ncols; c++) { /* nulls: rows whose field set no bit */
        Py_ssize_t valid = 0;
        for (Py_ssize_t i = 0; i < (rows + 7) / 8; i++) {
            valid += __builtin_popcount(validity[c][i]);
        }
        PyObject *nulls = PyLong_FromSsize_t(rows - valid);
        if (!nulls) {
            goto done;
        }
        PyTuple_SET_ITEM(PyList_GET_ITEM(columns, c), 3, nulls);
    }
    result = Py_BuildValue("(nOO)", rows, columns, ended ? Py_True : Py_False);
done:
    Py_XDECREF(columns);
    PyMem_Free(bytes);
    PyMem_Free(data);
    PyMem_Free(validity);
    PyMem_Free(offsets);
    PyBuffer_Release(&block);
    return result;
}

/* join(columns, rows, header) -> bytes: the rows in binary COPY form, the header first when
 * asked; each column is (validity or None, offsets (int32), data, array offset), the buffers
 * of an Arrow binary array. */
static PyObject *join(PyObject *self, PyObject *args) {
    PyObject *spec;
    Py_ssize_t rows;
    int header;
    if (!PyArg_ParseTuple(args, "Onp", &spec, &rows, &header)) {
        return NULL;
    }
    PyObject *seq = PySequence_Fast(spec, "columns must be a sequence");
    if (!seq) {
        return NULL;
    }
    Py_ssize_t ncols = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = NULL;
    Py_buffer *buffers = PyMem_Calloc((size_t)ncols * 3, sizeof(Py_buffer));
    Py_ssize_t *starts = PyMem_Calloc((size_t)ncols, sizeof(Py_ssize_t));
    Py_ssize_t taken = 0;
    if (!buffers || !starts) {
        PyErr_NoMemory();
        goto done;
    }
    if (ncols <= 0 || ncols > 1664 || rows < 0) {
        malformed("the number of columns must be from 1 to 1664");
        goto done;
    }
    Py_ssize_t total = header ? 19 : 0;
    total += rows * (2 + 4 * ncols);
    for (Py_ssize_t c = 0; c < ncols; c++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, c);
        PyObject *v, *o, *d;
        if (!PyArg_ParseTuple(item, "OOOn", &v, &o, &d, &starts[c])) {
            goto done;
        }
        Py_buffer *b = &buffers[3 * c];
        if (v != Py_None && PyObject_GetBuffer(v, &b[0], PyBUF_SIMPLE) < 0) {
            goto done;
        }
        if (PyObject_GetBuffer(o, &b[1], PyBUF_SIMPLE) < 0 ||
            PyObject_GetBuffer(d, &b[2], PyBUF_SIMPLE) < 0) {
            goto done;
        }
        taken = c + 1;
        Py_ssize_t first = starts[c];
        if (first < 0 || b[1].len < (first + rows + 1) * 4 ||
            (v != Py_None && b[0].len * 8 < first + rows)) {
            malformed("buffers shorter than the rows");
            goto done;
        }
        const int32_t *at = (const int32_t *)b[1].buf + first;
        const unsigned char *bits = v != Py_None ? b[0].buf : NULL;
        for (Py_ssize_t i = 0; i < rows; i++) {
            if (at[i] < 0 || at[i] > at[i + 1] || at[i + 1] > b[2].len) {
                malformed("offsets outside the data");
                goto done;
            }
            if (!bits || (bits[(first + i) >> 3] >> ((first + i) & 7)) & 1) {
                total += at[i + 1] - at[i];
            }
        }
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (!out) {
        goto done;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    if (header) {
        memcpy(p, SIGNATURE, 11);
        memset(p + 11, 0, 8);
        p += 19;
    }
    for (Py_ssize_t i = 0; i < rows; i++) {
        p[0] = (unsigned char)(ncols >> 8);
        p[1] = (unsigned char)ncols;
        p += 2;
        for (Py_ssize_t c = 0; c < ncols; c++) {
            Py_buffer *b = &buffers[3 * c];
            Py_ssize_t row = starts[c] + i;
            const int32_t *at = (const int32_t *)b[1].buf;
            const unsigned char *bits = b[0].buf;
            if (bits && !((bits[row >> 3] >> (row & 7)) & 1)) {
                put32(p, 0xFFFFFFFFu);
                p += 4;
                continue;
            }
            int32_t length = at[row + 1] - at[row];
            put32(p, (uint32_t)length);
            memcpy(p + 4, (const unsigned char *)b[2].buf + at[row], (size_t)length);
            p += 4 + length;
        }
    }
done:
    for (Py_ssize_t c = 0; c < taken; c++) {
        for (int k = 0; k < 3; k++) {
            if (buffers[3 * c + k].obj) {
                PyBuffer_Release(&buffers[3 * c + k]);
            }
        }
    }
    PyMem_Free(buffers);
    PyMem_Free(starts);
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"split", split, METH_VARARGS, "Binary COPY rows as Arrow binary columns' buffers."},
    {"join", join, METH_VARARGS, "Arrow binary columns' buffers as binary COPY rows."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pgbinary", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pgbinary(void) { return PyModule_Create(&module); }
