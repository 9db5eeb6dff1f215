/* COPY TO STDOUT rows joined into blocks in C: PostgreSQL sends one CopyData message per
 * row, and handing each to Python costs more than the rest of the read.
 *
 * libpq is reached through function pointers taken from the libpq psycopg already loaded
 * (psycopg-binary bundles its own), never linked here: a PGconn must only meet the libpq
 * that made it. The connection is left between two messages, so psycopg can always take
 * over: to cancel and drain the COPY, or, after the end, to read its final result. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int (*get_copy_data_fn)(void *conn, char **buffer, int async);
typedef void (*freemem_fn)(void *ptr);

/* read_copy_block(pgconn_ptr, max_bytes, PQgetCopyData, PQfreemem) -> (bytes, status):
 * whole rows until they reach max_bytes (a longer row comes whole) or the COPY stops;
 * status is PQgetCopyData's last answer: > 0 more may follow, -1 the COPY ended (its
 * result is still to be read), -2 it failed (the bytes are then empty). */
static PyObject *read_copy_block(PyObject *self, PyObject *args) {
    unsigned long long conn_ptr, get_ptr, free_ptr;
    Py_ssize_t max_bytes;
    if (!PyArg_ParseTuple(args, "KnKK", &conn_ptr, &max_bytes, &get_ptr, &free_ptr)) {
        return NULL;
    }
    if (!conn_ptr || !get_ptr || !free_ptr || max_bytes <= 0) {
        PyErr_SetString(PyExc_ValueError, "null pointer or non-positive max_bytes");
        return NULL;
    }
    void *conn = (void *)(uintptr_t)conn_ptr;
    get_copy_data_fn get_copy_data = (get_copy_data_fn)(uintptr_t)get_ptr;
    freemem_fn freemem = (freemem_fn)(uintptr_t)free_ptr;

    char *block = NULL;
    size_t size = 0, capacity = 0;
    int status = 1, out_of_memory = 0;
    Py_BEGIN_ALLOW_THREADS
    while (size < (size_t)max_bytes) {
        char *row = NULL;
        status = get_copy_data(conn, &row, 0); /* blocking: waits for a whole row */
        if (status <= 0) {
            break;
        }
        if (size + (size_t)status > capacity) {
            size_t wanted = capacity ? capacity * 2 : (size_t)max_bytes + 65536;
            if (wanted < size + (size_t)status) {
                wanted = size + (size_t)status;
            }
            char *grown = realloc(block, wanted);
            if (grown == NULL) {
                freemem(row);
                out_of_memory = 1;
                break;
            }
            block = grown;
            capacity = wanted;
        }
        memcpy(block + size, row, (size_t)status);
        size += (size_t)status;
        freemem(row);
    }
    Py_END_ALLOW_THREADS

    if (out_of_memory) {
        free(block);
        return PyErr_NoMemory();
    }
    PyObject *data = PyBytes_FromStringAndSize(status == -2 ? NULL : block,
                                               status == -2 ? 0 : (Py_ssize_t)size);
    free(block);
    if (data == NULL) {
        return NULL;
    }
    return Py_BuildValue("(Ni)", data, status);
}

static PyMethodDef methods[] = {
    {"read_copy_block", read_copy_block, METH_VARARGS,
     "Whole COPY rows up to max_bytes, and PQgetCopyData's last status."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_copyread", NULL, -1, methods};

PyMODINIT_FUNC PyInit__copyread(void) { return PyModule_Create(&module); }
