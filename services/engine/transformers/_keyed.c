/* The polynomial hashes of keyed.py, one value at a time in C: the same numbers as NumPy's
 * padded matrix products, without padding every row to its group's width.
 *
 * Each value's bytes are read as 3-byte big-endian limbs, the first limb holding what is
 * left over (leading zero limbs change nothing), and hashed by Horner's rule modulo
 * p = 2^31 - 1 at three points: h < p and r < p keep h * r + limb below 2^63. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define P 2147483647ULL

/* polynomials(offsets, data, (r1, r2, r3), lanes): for value i, bytes
 * data[offsets[i]:offsets[i + 1]] (offsets int64, n + 1 of them), writes lanes (uint32, 4 per
 * value) as (h1, h2, h3, byte length). */
static PyObject *polynomials(PyObject *self, PyObject *args) {
    Py_buffer offsets, data, lanes;
    unsigned long long r[3];
    if (!PyArg_ParseTuple(args, "y*y*(KKK)w*", &offsets, &data, &r[0], &r[1], &r[2], &lanes)) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n = offsets.len / (Py_ssize_t)sizeof(int64_t) - 1;
    const int64_t *at = offsets.buf;
    const unsigned char *bytes = data.buf;
    uint32_t *out = lanes.buf;
    if (n < 0 || offsets.len % sizeof(int64_t) || lanes.len != n * 4 * (Py_ssize_t)sizeof(uint32_t)) {
        PyErr_SetString(PyExc_ValueError, "offsets and lanes disagree on the number of values");
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        if (r[k] >= P) {
            PyErr_SetString(PyExc_ValueError, "points must be below p");
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) { /* checked first: the loop below trusts them */
        if (at[i] < 0 || at[i] > at[i + 1] || at[i + 1] > data.len || at[i + 1] - at[i] > UINT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "offsets outside the data");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const unsigned char *b = bytes + at[i];
        uint64_t length = (uint64_t)(at[i + 1] - at[i]);
        uint64_t h0 = 0, h1 = 0, h2 = 0, limb = 0;
        uint64_t first = length % 3; /* bytes of the leading, partly zero, limb */
        uint64_t j = 0;
        if (first) {
            for (; j < first; j++) {
                limb = (limb << 8) | b[j];
            }
            h0 = limb;
            h1 = limb;
            h2 = limb;
        }
        for (; j < length; j += 3) {
            limb = ((uint64_t)b[j] << 16) | ((uint64_t)b[j + 1] << 8) | b[j + 2];
            h0 = (h0 * r[0] + limb) % P;
            h1 = (h1 * r[1] + limb) % P;
            h2 = (h2 * r[2] + limb) % P;
        }
        out[4 * i] = (uint32_t)h0;
        out[4 * i + 1] = (uint32_t)h1;
        out[4 * i + 2] = (uint32_t)h2;
        out[4 * i + 3] = (uint32_t)length;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&lanes);
    return result;
}

static PyMethodDef methods[] = {
    {"polynomials", polynomials, METH_VARARGS, "The three polynomial hashes of each value."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_keyed", NULL, -1, methods};

PyMODINIT_FUNC PyInit__keyed(void) { return PyModule_Create(&module); }
