/* The native codec: one schema's Avro binary read into, and written from, Python values, by walking a
 * program of nodes that pipeline/codec/native.py plans from the schema.
 *
 * It only takes the common road. Whatever it does not handle itself -- a value of an unexpected type, a
 * corrupt or truncated body, an out-of-range instant, a logical type written in Python -- it hands to the
 * compiled Python codec for the same part of the schema ("delegates"): a record's part from the record's
 * start, the root's from the root's. So every refusal, error and unusual value is the compiled codec's
 * own answer, and both codecs give the same answers by construction.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

enum {
    K_NULL, K_BOOLEAN, K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_BYTES, K_STRING, K_FIXED, K_ENUM,
    K_RECORD, K_ARRAY, K_MAP, K_UNION, K_TIMESTAMP, K_LOGICAL, K_PYTHON, K_DECIMAL, K_UUID
};

/* Results of the walkers: the value (or done), a Python exception set, or "delegate" (nothing set). */
#define DELEGATE ((PyObject *)1)
enum { OK = 0, FAILED = -1, DELEGATED = 1 };

typedef struct {
    int kind;
    Py_ssize_t size;      /* fixed: bytes; timestamp: units per second; array/map: 1 if items take no bytes */
    int local;            /* timestamp: naive datetimes */
    int null_branch;      /* union (encoder): the null branch of a typed optional, or -1 */
    Py_ssize_t n;         /* children */
    int *children;
    PyObject *cls;        /* record: the class (NULL: dict) */
    PyObject *names;      /* record: tuple of attribute names (or dict keys) */
    Py_ssize_t *offsets;  /* record: slot offsets of those attributes, or NULL */
    PyObject *table;      /* enum: tuple of values (decoder) or dict value -> index (encoder);
                             timestamp: the tzinfo (decoder); record (generic encoder): defaults */
    PyObject *convert;    /* logical (decoder): underlying -> value */
    PyObject *fallback;   /* record, python: the compiled Python codec of this part */
} Node;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    Py_ssize_t count;
    int root;
    int encoder;
    PyObject *root_fallback;
    vectorcallfunc vectorcall;
} Program;

static int MAX_DEPTH = 128;
static PyObject *UTC;
static PyObject *SIXTY_FOUR;

/* uuid.UUID's slots and SafeUUID.unknown, and decimal.Decimal, as configure() was given them. */
static PyTypeObject *UUID_TYPE, *DECIMAL_TYPE;
static Py_ssize_t UUID_INT = -1, UUID_SAFE = -1;
static PyObject *SAFE_UNKNOWN;

/* -- days and dates (Howard Hinnant's civil calendar algorithms) ------------------------------ */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* -- decoding --------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    Py_ssize_t size;
    PyObject *data;
} Src;

/* A zig-zag varint of at most ``bits`` bits; DELEGATED when truncated or too long. */
static inline int read_long(const Src *s, Py_ssize_t *pos, int64_t *out, int bits)
{
    uint64_t n = 0;
    int shift = 0;
    Py_ssize_t i = *pos;
    const int last = bits == 32 ? 28 : 63;
    for (;;) {
        if (i >= s->size)
            return DELEGATED;
        unsigned char b = s->p[i++];
        n |= (uint64_t)(b & 127) << shift;
        if (b < 128)
            break;
        shift += 7;
        if (shift > last)
            return DELEGATED;
    }
    if (bits == 32 && (n >> 32))
        return DELEGATED;
    if (bits == 64 && shift == 63 && (s->p[i - 1] & 127) > 1)
        return DELEGATED;
    *pos = i;
    *out = (int64_t)(n >> 1) ^ -(int64_t)(n & 1);
    return OK;
}

static PyObject *decode_node(Program *prog, int index, const Src *s, Py_ssize_t *pos, int depth);

static PyObject *call_decode_fallback(PyObject *fallback, const Src *s, Py_ssize_t *pos, int depth)
{
    PyObject *result = PyObject_CallFunction(fallback, "Oni", s->data, *pos, depth);
    if (result == NULL)
        return NULL;
    if (!PyTuple_Check(result) || PyTuple_GET_SIZE(result) != 2) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_SystemError, "a fallback decoder returned no (value, end)");
        return NULL;
    }
    Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(result, 1));
    if (end == -1 && PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    PyObject *value = PyTuple_GET_ITEM(result, 0);
    Py_INCREF(value);
    Py_DECREF(result);
    *pos = end;
    return value;
}

static PyObject *decode_timestamp(const Node *node, int64_t raw)
{
    int64_t per = node->size;  /* units per second */
    int64_t seconds = floor_div(raw, per);
    int64_t micros = (raw - seconds * per) * (1000000 / per);
    int64_t days = floor_div(seconds, 86400);
    int64_t rest = seconds - days * 86400;
    int64_t year;
    int month, day;
    if (days < -719162 || days > 2932896)  /* outside 0001-01-01 .. 9999-12-31 */
        return DELEGATE;
    civil_from_days(days, &year, &month, &day);
    PyObject *tz = node->local ? Py_None : node->table;
    return PyDateTimeAPI->DateTime_FromDateAndTime(
        (int)year, month, day, (int)(rest / 3600), (int)(rest % 3600 / 60), (int)(rest % 60), (int)micros,
        tz, PyDateTimeAPI->DateTimeType);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A uuid string in its canonical 8-4-4-4-12 form as a UUID (other forms: DELEGATE). */
static PyObject *decode_uuid(const Src *s, Py_ssize_t *pos)
{
    int64_t n;
    Py_ssize_t at = *pos;
    if (UUID_TYPE == NULL || read_long(s, &at, &n, 64) != OK || n != 36 || 36 > s->size - at)
        return DELEGATE;
    uint64_t half[2] = {0, 0};
    for (int i = 0, digit = 0; i < 36; i++) {
        unsigned char c = s->p[at + i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return DELEGATE;
            continue;
        }
        int v = hex_value(c);
        if (v < 0)
            return DELEGATE;
        half[digit / 16] = half[digit / 16] << 4 | (uint64_t)v;
        digit++;
    }
    PyObject *high = PyLong_FromUnsignedLongLong(half[0]);
    PyObject *low = PyLong_FromUnsignedLongLong(half[1]);
    PyObject *shifted = high ? PyNumber_Lshift(high, SIXTY_FOUR) : NULL;
    PyObject *value = shifted && low ? PyNumber_Or(shifted, low) : NULL;
    Py_XDECREF(high);
    Py_XDECREF(low);
    Py_XDECREF(shifted);
    if (value == NULL)
        return NULL;
    PyObject *result = UUID_TYPE->tp_alloc(UUID_TYPE, 0);
    if (result == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    *(PyObject **)((char *)result + UUID_INT) = value;
    *(PyObject **)((char *)result + UUID_SAFE) = Py_NewRef(SAFE_UNKNOWN);
    *pos = at + 36;
    return result;
}

static PyObject *decode_blocks(Program *prog, const Node *node, const Src *s, Py_ssize_t *pos, int depth)
{
    int is_map = node->kind == K_MAP;
    PyObject *out = is_map ? PyDict_New() : PyList_New(0);
    if (out == NULL)
        return NULL;
    for (;;) {
        int64_t count;
        if (read_long(s, pos, &count, 64) != OK)
            goto delegate;
        if (count == 0)
            return out;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN)
                goto delegate;
            count = -count;
            if (read_long(s, pos, &bytes, 64) != OK)
                goto delegate;
        }
        if (node->size ? count > 1000000 : count > s->size - *pos)
            goto delegate;
        for (int64_t i = 0; i < count; i++) {
            PyObject *key = NULL;
            if (is_map) {
                int64_t n;
                if (read_long(s, pos, &n, 64) != OK || n < 0 || n > s->size - *pos)
                    goto delegate;
                key = PyUnicode_DecodeUTF8((const char *)s->p + *pos, (Py_ssize_t)n, NULL);
                if (key == NULL) {
                    PyErr_Clear();
                    goto delegate;
                }
                *pos += (Py_ssize_t)n;
            }
            PyObject *item = decode_node(prog, node->children[0], s, pos, depth);
            if (item == NULL || item == DELEGATE) {
                Py_XDECREF(key);
                Py_DECREF(out);
                return item;
            }
            int failed = is_map ? PyDict_SetItem(out, key, item) : PyList_Append(out, item);
            Py_XDECREF(key);
            Py_DECREF(item);
            if (failed) {
                Py_DECREF(out);
                return NULL;
            }
        }
    }
delegate:
    Py_DECREF(out);
    return DELEGATE;
}

static PyObject *decode_record(Program *prog, const Node *node, const Src *s, Py_ssize_t *pos, int depth)
{
    Py_ssize_t start = *pos, n = node->n;
    int own = depth + 1;
    PyObject *values[32];
    PyObject **fields = n <= 32 ? values : PyMem_Malloc(sizeof(PyObject *) * n);
    PyObject *result = NULL;
    Py_ssize_t done = 0;
    if (fields == NULL)
        return PyErr_NoMemory();
    if (own > MAX_DEPTH)
        goto delegate;
    for (; done < n; done++) {
        PyObject *v = decode_node(prog, node->children[done], s, pos, own);
        if (v == NULL)
            goto out;
        if (v == DELEGATE)
            goto delegate;
        fields[done] = v;
    }
    if (node->cls == NULL) {
        result = PyDict_New();
        for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
            if (PyDict_SetItem(result, PyTuple_GET_ITEM(node->names, i), fields[i]) < 0)
                Py_CLEAR(result);
        }
    } else if (node->offsets != NULL) {
        PyTypeObject *type = (PyTypeObject *)node->cls;
        result = type->tp_alloc(type, 0);
        if (result != NULL) {
            for (Py_ssize_t i = 0; i < n; i++) {
                *(PyObject **)((char *)result + node->offsets[i]) = fields[i];  /* steals */
                fields[i] = NULL;
            }
        }
    } else {
        result = PyObject_Vectorcall(node->cls, fields, 0, node->names);
    }
    goto out;
delegate:
    for (Py_ssize_t i = 0; i < done; i++)
        Py_CLEAR(fields[i]);
    done = 0;
    *pos = start;
    result = call_decode_fallback(node->fallback, s, pos, own);
out:
    for (Py_ssize_t i = 0; i < done; i++)
        Py_XDECREF(fields[i]);
    if (fields != values)
        PyMem_Free(fields);
    return result;
}

/* A decimal of up to 8 bytes: Decimal("<unscaled>E-<scale>"), which is what
 * Decimal(unscaled).scaleb(-scale) gives (the same digits and exponent); longer ones go to ``convert``. */
static PyObject *decode_decimal(Program *prog, const Node *node, const Src *s, Py_ssize_t *pos, int depth)
{
    PyObject *raw = decode_node(prog, node->children[0], s, pos, depth);
    if (raw == NULL || raw == DELEGATE)
        return raw;
    Py_ssize_t len = PyBytes_Check(raw) ? PyBytes_GET_SIZE(raw) : -1;
    PyObject *v;
    if (len >= 0 && len <= 8) {
        const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(raw);
        uint64_t u = (len && (b[0] & 0x80)) ? UINT64_MAX : 0;
        for (Py_ssize_t i = 0; i < len; i++)
            u = (u << 8) | b[i];
        PyObject *text = PyUnicode_FromFormat("%lldE-%zd", (long long)(int64_t)u, node->size);
        v = text == NULL ? NULL : PyObject_CallOneArg(node->cls, text);
        Py_XDECREF(text);
    }
    else {
        v = PyObject_CallOneArg(node->convert, raw);
    }
    Py_DECREF(raw);
    if (v == NULL) {
        PyErr_Clear();
        return DELEGATE;
    }
    return v;
}

static PyObject *decode_node(Program *prog, int index, const Src *s, Py_ssize_t *pos, int depth)
{
    const Node *node = &prog->nodes[index];
    int64_t n;
    switch (node->kind) {
    case K_NULL:
        Py_RETURN_NONE;
    case K_BOOLEAN:
        if (*pos >= s->size || s->p[*pos] > 1)
            return DELEGATE;
        return PyBool_FromLong(s->p[(*pos)++]);
    case K_INT:
    case K_LONG:
        if (read_long(s, pos, &n, node->kind == K_INT ? 32 : 64) != OK)
            return DELEGATE;
        return PyLong_FromLongLong(n);
    case K_FLOAT:
    case K_DOUBLE: {
        Py_ssize_t width = node->kind == K_FLOAT ? 4 : 8;
        if (*pos < 0 || width > s->size - *pos)
            return DELEGATE;
        const char *at = (const char *)s->p + *pos;
        double d = width == 4 ? PyFloat_Unpack4(at, 1) : PyFloat_Unpack8(at, 1);
        if (d == -1.0 && PyErr_Occurred())
            return NULL;
        *pos += width;
        return PyFloat_FromDouble(d);
    }
    case K_BYTES:
    case K_STRING: {
        if (read_long(s, pos, &n, 64) != OK || n < 0 || n > s->size - *pos)
            return DELEGATE;
        const char *at = (const char *)s->p + *pos;
        PyObject *v = node->kind == K_STRING ? PyUnicode_DecodeUTF8(at, (Py_ssize_t)n, NULL)
                                             : PyBytes_FromStringAndSize(at, (Py_ssize_t)n);
        if (v == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                return NULL;
            PyErr_Clear();
            return DELEGATE;
        }
        *pos += (Py_ssize_t)n;
        return v;
    }
    case K_FIXED: {
        if (*pos < 0 || node->size > s->size - *pos)
            return DELEGATE;
        PyObject *v = PyBytes_FromStringAndSize((const char *)s->p + *pos, node->size);
        if (v != NULL)
            *pos += node->size;
        return v;
    }
    case K_ENUM:
        if (read_long(s, pos, &n, 32) != OK || n < 0 || n >= PyTuple_GET_SIZE(node->table))
            return DELEGATE;
        return Py_NewRef(PyTuple_GET_ITEM(node->table, (Py_ssize_t)n));
    case K_RECORD:
        return decode_record(prog, node, s, pos, depth);
    case K_ARRAY:
    case K_MAP:
        return decode_blocks(prog, node, s, pos, depth);
    case K_UNION:
        if (read_long(s, pos, &n, 32) != OK || n < 0 || n >= node->n)
            return DELEGATE;
        return decode_node(prog, node->children[n], s, pos, depth);
    case K_TIMESTAMP:
        if (read_long(s, pos, &n, 64) != OK)
            return DELEGATE;
        return decode_timestamp(node, n);
    case K_LOGICAL: {
        PyObject *raw = decode_node(prog, node->children[0], s, pos, depth);
        if (raw == NULL || raw == DELEGATE)
            return raw;
        PyObject *v = PyObject_CallOneArg(node->convert, raw);
        Py_DECREF(raw);
        if (v == NULL) {
            PyErr_Clear();
            return DELEGATE;
        }
        return v;
    }
    case K_PYTHON:
        return call_decode_fallback(node->fallback, s, pos, depth);
    case K_UUID:
        return decode_uuid(s, pos);
    case K_DECIMAL:
        return decode_decimal(prog, node, s, pos, depth);
    }
    PyErr_SetString(PyExc_SystemError, "unknown node kind");
    return NULL;
}

static PyObject *program_decode(Program *prog, PyObject *data, Py_ssize_t pos)
{
    Py_buffer view;
    Src s;
    int owned = 0;
    if (PyBytes_CheckExact(data)) {
        s.p = (const unsigned char *)PyBytes_AS_STRING(data);
        s.size = PyBytes_GET_SIZE(data);
    } else {
        if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        owned = 1;
        s.p = view.buf;
        s.size = view.len;
    }
    s.data = data;
    Py_ssize_t start = pos;
    PyObject *value = pos < 0 ? DELEGATE : decode_node(prog, prog->root, &s, &pos, 0);
    if (value == DELEGATE) {
        pos = start;
        value = call_decode_fallback(prog->root_fallback, &s, &pos, 0);
    }
    if (owned)
        PyBuffer_Release(&view);
    if (value == NULL)
        return NULL;
    PyObject *end = PyLong_FromSsize_t(pos);
    if (end == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(value);
        Py_DECREF(end);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, value);
    PyTuple_SET_ITEM(result, 1, end);
    return result;
}

/* -- encoding --------------------------------------------------------------------------------- */

typedef struct {
    PyObject *buf;  /* the caller's bytearray; its size is ``cap`` while we write */
    char *p;
    Py_ssize_t len, cap;
} Out;

static int reserve(Out *o, Py_ssize_t n)
{
    if (o->len + n <= o->cap)
        return OK;
    Py_ssize_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n + 64;
    if (PyByteArray_Resize(o->buf, cap) < 0)
        return FAILED;
    o->p = PyByteArray_AS_STRING(o->buf);
    o->cap = cap;
    return OK;
}

/* The bytearray as long as what was written, for Python code to append to (and back). */
static int settle(Out *o)
{
    if (o->cap != o->len && PyByteArray_Resize(o->buf, o->len) < 0)
        return FAILED;
    o->cap = o->len;
    o->p = PyByteArray_AS_STRING(o->buf);
    return OK;
}

static int resume(Out *o)
{
    o->len = o->cap = PyByteArray_GET_SIZE(o->buf);
    o->p = PyByteArray_AS_STRING(o->buf);
    return OK;
}

static inline int write_long(Out *o, int64_t v)
{
    if (reserve(o, 10) < 0)
        return FAILED;
    uint64_t n = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (n >= 128) {
        o->p[o->len++] = (char)((n & 127) | 128);
        n >>= 7;
    }
    o->p[o->len++] = (char)n;
    return OK;
}

static int write_raw(Out *o, const char *raw, Py_ssize_t n, int prefixed)
{
    if (prefixed && write_long(o, n) < 0)
        return FAILED;
    if (reserve(o, n) < 0)
        return FAILED;
    memcpy(o->p + o->len, raw, n);
    o->len += n;
    return OK;
}

static int call_encode_fallback(PyObject *fallback, PyObject *v, Out *o, int depth)
{
    if (settle(o) < 0)
        return FAILED;
    PyObject *result = PyObject_CallFunction(fallback, "OOi", v, o->buf, depth);
    resume(o);
    if (result == NULL)
        return FAILED;
    Py_DECREF(result);
    return OK;
}

static int encode_node(Program *prog, int index, PyObject *v, Out *o, int depth);

static int encode_timestamp(const Node *node, PyObject *v, Out *o)
{
    if (!PyDateTime_CheckExact(v))
        return DELEGATED;
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(v);
    if (tz != Py_None && tz != UTC)
        return DELEGATED;
    int64_t seconds = days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v))
                          * 86400
                      + PyDateTime_DATE_GET_HOUR(v) * 3600 + PyDateTime_DATE_GET_MINUTE(v) * 60
                      + PyDateTime_DATE_GET_SECOND(v);
    int64_t micros = PyDateTime_DATE_GET_MICROSECOND(v);
    int64_t raw = node->size == 1000 ? seconds * 1000 + micros / 1000 : seconds * 1000000 + micros;
    return write_long(o, raw);  /* every year 1..9999 instant fits both units */
}

/* A UUID as its canonical text; DELEGATED for anything but a uuid.UUID. */
static int encode_uuid(PyObject *v, Out *o)
{
    static const char digits[] = "0123456789abcdef";
    if (UUID_TYPE == NULL || Py_TYPE(v) != UUID_TYPE)
        return DELEGATED;
    PyObject *value = *(PyObject **)((char *)v + UUID_INT);
    if (value == NULL || !PyLong_CheckExact(value))
        return DELEGATED;
    PyObject *high = PyNumber_Rshift(value, SIXTY_FOUR);
    if (high == NULL)
        return FAILED;
    uint64_t half[2] = {PyLong_AsUnsignedLongLong(high), PyLong_AsUnsignedLongLongMask(value)};
    Py_DECREF(high);
    if (PyErr_Occurred()) {  /* negative, or wider than 128 bits: Python says what it makes of it */
        PyErr_Clear();
        return DELEGATED;
    }
    char text[36];
    for (int i = 0, digit = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            text[i] = '-';
            continue;
        }
        text[i] = digits[(half[digit / 16] >> (60 - 4 * (digit % 16))) & 15];
        digit++;
    }
    return write_raw(o, text, 36, 1);
}

/* A Decimal of at most 18 digits at the schema's scale (``size``), without rounding, as the fewest
 * two's complement bytes; DELEGATED for anything else (Python says why, or writes the larger ones). */
static int encode_decimal(const Node *node, PyObject *v, Out *o)
{
    if (DECIMAL_TYPE == NULL || Py_TYPE(v) != DECIMAL_TYPE)
        return DELEGATED;
    PyObject *str = PyObject_Str(v);
    if (str == NULL)
        return FAILED;
    Py_ssize_t n;
    const char *t = PyUnicode_AsUTF8AndSize(str, &n);
    if (t == NULL) {
        Py_DECREF(str);
        return FAILED;
    }
    Py_ssize_t i = 0;
    int negative = 0, places = 0, seen_point = 0, count = 0;
    int64_t unscaled = 0, exponent = 0;
    if (i < n && (t[i] == '-' || t[i] == '+'))
        negative = t[i++] == '-';
    for (; i < n; i++) {
        char c = t[i];
        if (c >= '0' && c <= '9') {
            if (unscaled || c != '0')
                count++;
            if (count > 18)
                goto delegate;
            unscaled = unscaled * 10 + (c - '0');
            places += seen_point;
        } else if (c == '.' && !seen_point)
            seen_point = 1;
        else
            break;
    }
    if (i < n) {
        if (t[i] != 'E' && t[i] != 'e')
            goto delegate;
        char *end;
        long e = strtol(t + i + 1, &end, 10);
        if (end != t + n || e > 100 || e < -100)
            goto delegate;
        exponent = e;
    }
    Py_DECREF(str);
    int64_t shift = exponent - places + node->size;  /* node->size: the scale */
    for (; shift > 0; shift--) {
        if (unscaled > INT64_MAX / 10)
            return DELEGATED;
        unscaled *= 10;
    }
    for (; shift < 0; shift++) {
        if (unscaled % 10)
            return DELEGATED;  /* it would have to round */
        unscaled /= 10;
    }
    int64_t limit = 1;
    for (int d = 0; d < node->local; d++)  /* node->local: the precision */
        limit *= 10;
    if (unscaled >= limit)
        return DELEGATED;
    if (negative)
        unscaled = -unscaled;
    unsigned char bytes[8];
    int width = 1;
    while (width < 8 && !(unscaled >= -((int64_t)1 << (8 * width - 1)) && unscaled < ((int64_t)1 << (8 * width - 1))))
        width++;
    for (int b = 0; b < width; b++)
        bytes[width - 1 - b] = (unsigned char)((uint64_t)unscaled >> (8 * b));
    return write_raw(o, (const char *)bytes, width, 1);
delegate:
    Py_DECREF(str);
    return DELEGATED;
}

static int encode_record(Program *prog, const Node *node, PyObject *v, Out *o, int depth)
{
    Py_ssize_t start = o->len;
    int own = depth + 1;
    int status = OK;
    if (own > MAX_DEPTH)
        goto delegate;
    if (node->cls != NULL) {
        int exact = (PyObject *)Py_TYPE(v) == node->cls;
        if (!exact)
            goto delegate;
        for (Py_ssize_t i = 0; i < node->n; i++) {
            PyObject *field;
            if (node->offsets != NULL) {
                field = *(PyObject **)((char *)v + node->offsets[i]);
                if (field == NULL)
                    goto delegate;
                Py_INCREF(field);
            } else {
                field = PyObject_GetAttr(v, PyTuple_GET_ITEM(node->names, i));
                if (field == NULL) {
                    PyErr_Clear();
                    goto delegate;
                }
            }
            status = encode_node(prog, node->children[i], field, o, own);
            Py_DECREF(field);
            if (status == FAILED)
                return FAILED;
            if (status == DELEGATED)
                goto delegate;
        }
        return OK;
    }
    if (!PyDict_CheckExact(v))
        goto delegate;
    for (Py_ssize_t i = 0; i < node->n; i++) {
        PyObject *field = PyDict_GetItemWithError(v, PyTuple_GET_ITEM(node->names, i));
        if (field == NULL) {
            if (PyErr_Occurred())
                return FAILED;
            PyObject *fallback = PyTuple_GET_ITEM(node->table, i);
            if (fallback == Py_None)
                goto delegate;
            if (write_raw(o, PyBytes_AS_STRING(fallback), PyBytes_GET_SIZE(fallback), 0) < 0)
                return FAILED;
            continue;
        }
        Py_INCREF(field);
        status = encode_node(prog, node->children[i], field, o, own);
        Py_DECREF(field);
        if (status == FAILED)
            return FAILED;
        if (status == DELEGATED)
            goto delegate;
    }
    return OK;
delegate:
    o->len = start;
    return call_encode_fallback(node->fallback, v, o, own);
}

static int encode_node(Program *prog, int index, PyObject *v, Out *o, int depth)
{
    const Node *node = &prog->nodes[index];
    switch (node->kind) {
    case K_NULL:
        return v == Py_None ? OK : DELEGATED;
    case K_BOOLEAN:
        if (v != Py_True && v != Py_False)
            return DELEGATED;
        if (reserve(o, 1) < 0)
            return FAILED;
        o->p[o->len++] = v == Py_True;
        return OK;
    case K_INT:
    case K_LONG: {
        if (!PyLong_CheckExact(v))
            return DELEGATED;
        int overflow;
        long long n = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (n == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return DELEGATED;
        }
        if (node->kind == K_INT && (n < INT32_MIN || n > INT32_MAX))
            return DELEGATED;
        return write_long(o, n);
    }
    case K_FLOAT:
    case K_DOUBLE: {
        double d;
        if (PyFloat_CheckExact(v))
            d = PyFloat_AS_DOUBLE(v);
        else if (PyLong_CheckExact(v)) {
            d = PyLong_AsDouble(v);
            if (d == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                return DELEGATED;
            }
        } else
            return DELEGATED;
        if (reserve(o, 8) < 0)
            return FAILED;
        int failed = node->kind == K_FLOAT ? PyFloat_Pack4(d, o->p + o->len, 1) : PyFloat_Pack8(d, o->p + o->len, 1);
        if (failed) {
            PyErr_Clear();
            return DELEGATED;
        }
        o->len += node->kind == K_FLOAT ? 4 : 8;
        return OK;
    }
    case K_STRING: {
        if (!PyUnicode_CheckExact(v))
            return DELEGATED;
        Py_ssize_t n;
        const char *raw = PyUnicode_AsUTF8AndSize(v, &n);
        if (raw == NULL) {
            PyErr_Clear();
            return DELEGATED;
        }
        return write_raw(o, raw, n, 1);
    }
    case K_BYTES:
    case K_FIXED: {
        const char *raw;
        Py_ssize_t n;
        if (PyBytes_CheckExact(v)) {
            raw = PyBytes_AS_STRING(v);
            n = PyBytes_GET_SIZE(v);
        } else if (PyByteArray_CheckExact(v)) {
            raw = PyByteArray_AS_STRING(v);
            n = PyByteArray_GET_SIZE(v);
        } else
            return DELEGATED;
        if (node->kind == K_FIXED && n != node->size)
            return DELEGATED;
        if (v == o->buf)  /* writing a buffer into itself: leave it to Python */
            return DELEGATED;
        return write_raw(o, raw, n, node->kind == K_BYTES);
    }
    case K_ENUM: {
        if (node->cls == NULL && !PyUnicode_CheckExact(v))
            return DELEGATED;
        if (node->cls != NULL && PyDict_GET_SIZE(node->table) <= 32) {
            /* A member of the generated enum: found by identity, without Enum's Python __hash__. */
            Py_ssize_t at = 0;
            PyObject *key, *index;
            while (PyDict_Next(node->table, &at, &key, &index))
                if (key == v)
                    return write_long(o, PyLong_AsLongLong(index));
        }
        PyObject *found = PyDict_GetItemWithError(node->table, v);
        if (found == NULL) {
            PyErr_Clear();
            return DELEGATED;
        }
        return write_long(o, PyLong_AsLongLong(found));
    }
    case K_RECORD:
        return encode_record(prog, node, v, o, depth);
    case K_ARRAY: {
        if (!PyList_CheckExact(v))
            return DELEGATED;
        Py_ssize_t n = PyList_GET_SIZE(v);
        if (n && write_long(o, n) < 0)
            return FAILED;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            PyObject *item = PyList_GET_ITEM(v, i);
            Py_INCREF(item);
            int status = encode_node(prog, node->children[0], item, o, depth);
            Py_DECREF(item);
            if (status != OK)
                return status;
        }
        if (PyList_GET_SIZE(v) != n)  /* changed under us: let Python say what it makes of it */
            return DELEGATED;
        return write_long(o, 0);
    }
    case K_MAP: {
        if (!PyDict_CheckExact(v))
            return DELEGATED;
        Py_ssize_t n = PyDict_GET_SIZE(v), at = 0;
        PyObject *key, *item;
        if (n && write_long(o, n) < 0)
            return FAILED;
        while (PyDict_Next(v, &at, &key, &item)) {
            if (!PyUnicode_CheckExact(key))
                return DELEGATED;
            Py_ssize_t size;
            const char *raw = PyUnicode_AsUTF8AndSize(key, &size);
            if (raw == NULL) {
                PyErr_Clear();
                return DELEGATED;
            }
            if (write_raw(o, raw, size, 1) < 0)
                return FAILED;
            Py_INCREF(item);
            int status = encode_node(prog, node->children[0], item, o, depth);
            Py_DECREF(item);
            if (status != OK)
                return status;
        }
        if (PyDict_GET_SIZE(v) != n)
            return DELEGATED;
        return write_long(o, 0);
    }
    case K_UNION: {
        int branch = v == Py_None ? node->null_branch : 1 - node->null_branch;
        if (write_long(o, branch) < 0)
            return FAILED;
        return encode_node(prog, node->children[branch], v, o, depth);
    }
    case K_TIMESTAMP:
        return encode_timestamp(node, v, o);
    case K_LOGICAL:
    case K_PYTHON:
        return call_encode_fallback(node->fallback, v, o, depth);
    case K_UUID:
        return encode_uuid(v, o);
    case K_DECIMAL:
        return encode_decimal(node, v, o);
    }
    PyErr_SetString(PyExc_SystemError, "unknown node kind");
    return FAILED;
}

static PyObject *program_encode(Program *prog, PyObject *value, PyObject *buf)
{
    if (!PyByteArray_Check(buf)) {
        PyErr_SetString(PyExc_TypeError, "the buffer must be a bytearray");
        return NULL;
    }
    Out o;
    o.buf = buf;
    resume(&o);
    Py_ssize_t start = o.len;
    int status = encode_node(prog, prog->root, value, &o, 0);
    if (status == DELEGATED) {
        o.len = start;
        status = call_encode_fallback(prog->root_fallback, value, &o, 0);
    }
    if (settle(&o) < 0 || status == FAILED)
        return NULL;
    Py_RETURN_NONE;
}

/* -- the Program type ------------------------------------------------------------------------- */

static PyObject *program_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Program *prog = (Program *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs != 2) {
        PyErr_SetString(PyExc_TypeError, prog->encoder ? "encode(value, buf)" : "decode(data, pos)");
        return NULL;
    }
    if (prog->encoder)
        return program_encode(prog, args[0], args[1]);
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    return program_decode(prog, args[0], pos);
}

static void program_clear_nodes(Program *prog)
{
    for (Py_ssize_t i = 0; i < prog->count; i++) {
        Node *node = &prog->nodes[i];
        PyMem_Free(node->children);
        PyMem_Free(node->offsets);
        Py_CLEAR(node->cls);
        Py_CLEAR(node->names);
        Py_CLEAR(node->table);
        Py_CLEAR(node->convert);
        Py_CLEAR(node->fallback);
    }
    PyMem_Free(prog->nodes);
    prog->nodes = NULL;
    prog->count = 0;
}

static void program_dealloc(Program *prog)
{
    program_clear_nodes(prog);
    Py_CLEAR(prog->root_fallback);
    Py_TYPE(prog)->tp_free((PyObject *)prog);
}

static PyObject *optional(PyObject *o)
{
    return o == Py_None ? NULL : Py_NewRef(o);
}

/* Program(nodes, root, encoder, root_fallback); each node is
 * (kind, size, local, null_branch, children, cls, names, descriptors, table, convert, fallback). */
static PyObject *program_new(PyTypeObject *type, PyObject *args, PyObject *Py_UNUSED(kwds))
{
    PyObject *nodes, *root_fallback;
    int root, encoder;
    if (!PyArg_ParseTuple(args, "O!ipO", &PyList_Type, &nodes, &root, &encoder, &root_fallback))
        return NULL;
    Program *prog = (Program *)type->tp_alloc(type, 0);
    if (prog == NULL)
        return NULL;
    prog->vectorcall = program_vectorcall;
    prog->encoder = encoder;
    prog->root = root;
    prog->root_fallback = Py_NewRef(root_fallback);
    Py_ssize_t count = PyList_GET_SIZE(nodes);
    prog->nodes = PyMem_Calloc(count ? count : 1, sizeof(Node));
    if (prog->nodes == NULL)
        goto fail;
    prog->count = count;
    if (root < 0 || root >= count) {
        PyErr_SetString(PyExc_ValueError, "root out of range");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Node *node = &prog->nodes[i];
        PyObject *children, *cls, *names, *descriptors, *table, *convert, *fallback;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(nodes, i), "inii" "O!OOOOOO", &node->kind, &node->size,
                              &node->local, &node->null_branch, &PyTuple_Type, &children, &cls, &names,
                              &descriptors, &table, &convert, &fallback))
            goto fail;
        node->n = PyTuple_GET_SIZE(children);
        node->children = PyMem_Calloc(node->n ? node->n : 1, sizeof(int));
        if (node->children == NULL)
            goto fail;
        for (Py_ssize_t c = 0; c < node->n; c++) {
            long child = PyLong_AsLong(PyTuple_GET_ITEM(children, c));
            if (child < 0 || child >= count) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "child out of range");
                goto fail;
            }
            node->children[c] = (int)child;
        }
        node->cls = optional(cls);
        node->names = optional(names);
        node->table = optional(table);
        node->convert = optional(convert);
        node->fallback = optional(fallback);
        if ((node->kind == K_RECORD || node->kind == K_PYTHON || (encoder && node->kind == K_LOGICAL))
            && node->fallback == NULL) {
            PyErr_SetString(PyExc_ValueError, "a record or python node without a fallback");
            goto fail;
        }
        if (node->kind == K_RECORD
            && (node->names == NULL || !PyTuple_Check(node->names) || PyTuple_GET_SIZE(node->names) != node->n)) {
            PyErr_SetString(PyExc_ValueError, "a record needs one name per field");
            goto fail;
        }
        if (node->kind == K_UNION && encoder && (node->n != 2 || node->null_branch < 0 || node->null_branch > 1)) {
            PyErr_SetString(PyExc_ValueError, "an encoder's union must be a typed optional");
            goto fail;
        }
        if (node->kind < K_NULL || node->kind > K_UUID || node->size < 0
            || (node->kind == K_DECIMAL && encoder && (node->local < 1 || node->local > 18 || node->size > node->local))
            || (node->kind == K_DECIMAL && !encoder && (node->n != 1 || node->cls == NULL || node->convert == NULL))
            || (node->kind == K_ENUM && (node->table == NULL || (encoder ? !PyDict_Check(node->table) : !PyTuple_Check(node->table))))
            || (node->kind == K_LOGICAL && !encoder && node->convert == NULL)
            || ((node->kind == K_ARRAY || node->kind == K_MAP || node->kind == K_LOGICAL) && node->n != 1)
            || (node->kind == K_UNION && node->n == 0)
            || (node->kind == K_TIMESTAMP && node->size != 1000 && node->size != 1000000)
            || (node->kind == K_RECORD && node->cls == NULL && encoder
                && (node->table == NULL || !PyTuple_Check(node->table) || PyTuple_GET_SIZE(node->table) != node->n))) {
            PyErr_SetString(PyExc_ValueError, "a malformed node");
            goto fail;
        }
        if (descriptors != Py_None) {
            if (!PyTuple_Check(descriptors) || PyTuple_GET_SIZE(descriptors) != node->n) {
                PyErr_SetString(PyExc_ValueError, "one slot descriptor per field");
                goto fail;
            }
            node->offsets = PyMem_Calloc(node->n ? node->n : 1, sizeof(Py_ssize_t));
            if (node->offsets == NULL)
                goto fail;
            for (Py_ssize_t c = 0; c < node->n; c++) {
                PyObject *d = PyTuple_GET_ITEM(descriptors, c);
                if (Py_TYPE(d) != &PyMemberDescr_Type
                    || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
                    PyErr_SetString(PyExc_ValueError, "a field that is not an object slot");
                    goto fail;
                }
                node->offsets[c] = ((PyMemberDescrObject *)d)->d_member->offset;
            }
        }
    }
    return (PyObject *)prog;
fail:
    Py_DECREF(prog);
    return NULL;
}

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pipeline.codec._native.Program",
    .tp_basicsize = sizeof(Program),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Program, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = program_new,
    .tp_dealloc = (destructor)program_dealloc,
    .tp_doc = "One schema's encoder or decoder: Program(nodes, root, encoder, root_fallback).",
};

/* configure(UUID, its int slot, its is_safe slot, SafeUUID.unknown, Decimal) */
static PyObject *configure(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *uuid_type, *int_slot, *safe_slot, *unknown, *decimal_type;
    if (!PyArg_ParseTuple(args, "O!O!O!OO!", &PyType_Type, &uuid_type, &PyMemberDescr_Type, &int_slot,
                          &PyMemberDescr_Type, &safe_slot, &unknown, &PyType_Type, &decimal_type))
        return NULL;
    PyMemberDef *a = ((PyMemberDescrObject *)int_slot)->d_member, *b = ((PyMemberDescrObject *)safe_slot)->d_member;
    if (a->type != T_OBJECT_EX || b->type != T_OBJECT_EX
        || !PyType_IsSubtype(((PyMemberDescrObject *)int_slot)->d_common.d_type, (PyTypeObject *)uuid_type)) {
        PyErr_SetString(PyExc_ValueError, "not the slots of the UUID type");
        return NULL;
    }
    Py_XSETREF(UUID_TYPE, (PyTypeObject *)Py_NewRef(uuid_type));
    Py_XSETREF(DECIMAL_TYPE, (PyTypeObject *)Py_NewRef(decimal_type));
    Py_XSETREF(SAFE_UNKNOWN, Py_NewRef(unknown));
    UUID_INT = a->offset;
    UUID_SAFE = b->offset;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "configure(UUID, UUID.int, UUID.is_safe, SafeUUID.unknown, Decimal)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pipeline.codec._native",
    .m_doc = "The native codec; planned by pipeline.codec.native.",
    .m_size = -1,
    .m_methods = methods,
};

static int add_all(PyObject *m)
{
    PyObject *names = Py_BuildValue("[ss]", "Program", "configure");
    int result = names == NULL ? -1 : PyModule_AddObjectRef(m, "__all__", names);
    Py_XDECREF(names);
    return result;
}

PyMODINIT_FUNC PyInit__native(void)
{
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    UTC = PyDateTime_TimeZone_UTC;
    SIXTY_FOUR = PyLong_FromLong(64);
    if (SIXTY_FOUR == NULL)
        return NULL;
    if (PyType_Ready(&ProgramType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Program", (PyObject *)&ProgramType) < 0
        || PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0
        || add_all(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
