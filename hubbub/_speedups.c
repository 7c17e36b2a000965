/* hubbub._speedups: the per-delivery path, compiled.
 *
 * Every message to a channel is written to each member's output queue and, once per
 * loop iteration, each queue is written to its transport. At everyday load that is a
 * few Python calls per recipient per message, which cost more than the system call
 * they end in. This module does the same work in C:
 *
 *   OutputQueue   the same class as hubbub/transport/gate.py's OutputQueue (which stays
 *                 the reference, and the fallback where this module cannot be built);
 *   deliver       the loop of hubbub/server/announce.py's to_members, and deliver_one
 *                 its step for one connection (a private message's copy).
 *
 * and, on every message's way in and out, what the interpreter would spend most on per line:
 *
 *   LineBuffer    the same class as hubbub/irc/framing.py's LineBuffer;
 *   parse_common  the common received line `COMMAND target :text`, as irc/message.py's parse
 *                 reads it (None for every other line: the Python way takes it);
 *   encode        Message.encode's bytes for a message that fits (None: the Python way).
 *
 * and every event's time, checked against the order of those applied before it:
 *
 *   TimeOrder     hubbub/server/apply.py's in_time_order, as a callable object;
 *   MsgIds        server/delivery.py's new_msgid, the id every message is given.
 *
 * and small steps every message takes, each a Python frame less (a message's
 * handling is paid cold, between messages, per function as much as per bytecode):
 *
 *   casefold      irc/casemap.py's casefold (CASEMAPPING=ascii);
 *   message       a Message made as its class makes it, without calling its __init__;
 *   outgoing      server/delivery.py's Outgoing made the same way, and its bare form taken
 *                 by the delivery loop itself (no Python frame of irc_bytes);
 *   new_tuple     tuple.__new__(cls, fields) for a tuple subclass made in Python, as a
 *                 NamedTuple's own __new__ makes one: the event (server/events.py's Said)
 *                 every message is;
 *
 * and the read of what a plain connection's client sent:
 *
 *   read          os.read for a descriptor that cannot block, without releasing the GIL.
 *
 * All must behave exactly as their Python versions: tests run against both.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <limits.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL  /* where it is missing, SIGPIPE is ignored by Python anyway */
#define MSG_NOSIGNAL 0
#endif

static PyObject *str_write;     /* "write" */
static PyObject *str_pending;   /* "get_write_buffer_size" */
static PyObject *str_abort;     /* "abort" */
static PyObject *str_exceeded;  /* "sendq_exceeded" */
static PyObject *str_fast;      /* "fast" */
static PyObject *str_tag_mask;  /* "tag_mask" */
static PyObject *str_deliver;   /* "deliver" */
static PyObject *str_irc_bytes; /* "irc_bytes" */
static PyObject *str_marked;    /* "marked" */
static PyObject *str_flush;     /* "flush" */
static PyObject *str_take;      /* "take" */
static PyObject *str_send;      /* "send" */
static PyObject *str_command, *str_params, *str_source, *str_tags, *str_nick;
static PyObject *str_privmsg, *str_notice;
static PyObject *str_scheduled; /* "_scheduled" */
static PyObject *str_schedule;  /* "_schedule" */
static PyObject *empty_bytes;

/* -- attributes in slots ------------------------------------------------------------ */

/* An attribute kept in a __slots__ slot of a class (Connection.fast, .tag_mask,
 * TcpConnection.write): once its class is known, read straight from the slot, as long as
 * the class is unchanged (its version tag), which is what getattr would find there. */
typedef struct {
    PyObject **name;
    PyTypeObject *type;  /* strong reference */
    unsigned int version;
    Py_ssize_t offset;   /* 0: not a slot of that class, look it up */
} SlotCache;

/* Whether `cache` knows the slot of `obj`'s class (0: look the attribute up). */
static Py_ssize_t
slot_offset(SlotCache *cache, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type != cache->type || type->tp_version_tag != cache->version) {
        cache->offset = 0;
        Py_INCREF(type);
        Py_XSETREF(cache->type, (PyTypeObject *)type);
        cache->version = type->tp_version_tag;
        PyObject *descr = PyObject_GetAttr((PyObject *)type, *cache->name);
        if (descr == NULL)
            PyErr_Clear();
        else {
            if (Py_IS_TYPE(descr, &PyMemberDescr_Type) && type->tp_version_tag == cache->version
                && cache->version != 0) {
                PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
                if (member->type == T_OBJECT_EX)
                    cache->offset = member->offset;
            }
            Py_DECREF(descr);
        }
    }
    return cache->offset;
}

static PyObject *
slot_get_looked_up(SlotCache *cache, PyObject *obj)
{
    Py_ssize_t offset = slot_offset(cache, obj);
    if (offset > 0) {
        PyObject *value = *(PyObject **)((char *)obj + offset);
        if (value != NULL)
            return Py_NewRef(value);
    }
    return PyObject_GetAttr(obj, *cache->name);
}

/* getattr(obj, name), a new reference. The class seen last, unchanged, is read inline
 * (the delivery loop reads three slots a member); any other way out of line. */
static inline PyObject *
slot_get(SlotCache *cache, PyObject *obj)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type == cache->type && type->tp_version_tag == cache->version && cache->offset > 0) {
        PyObject *value = *(PyObject **)((char *)obj + cache->offset);
        if (value != NULL)
            return Py_NewRef(value);
    }
    return slot_get_looked_up(cache, obj);
}

/* setattr(obj, name, value), into the slot when it is one of a class that sets its
 * attributes the usual way (no __setattr__ of its own). 0, or -1 with an exception set. */
static int
slot_set(SlotCache *cache, PyObject *obj, PyObject *value)
{
    Py_ssize_t offset = slot_offset(cache, obj);
    if (offset <= 0 || Py_TYPE(obj)->tp_setattro != PyObject_GenericSetAttr)
        return PyObject_SetAttr(obj, *cache->name, value);
    Py_XSETREF(*(PyObject **)((char *)obj + offset), Py_NewRef(value));
    return 0;
}

/* -- OutputQueue ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *ip;
    Py_ssize_t sendq;
    Py_ssize_t room;    /* what one pass may collect beyond the sendq: the kernel takes it at once */
    int closing;
    PyObject *first;    /* the first bytes collected since the last flush (or NULL) */
    PyObject *rest;     /* a list of the others, only when there are others */
    Py_ssize_t size;    /* their length; 0: nothing collected, not marked for the flusher */
    Py_ssize_t held;    /* taken, waiting for the store's commit */
    Py_ssize_t sent;    /* bytes handed to the transport (the metrics read it) */
    PyObject *flusher;
    PyObject *marked;   /* flusher.marked */
    PyObject *sink;     /* the transport */
    PyObject *owner;    /* the connection: sendq_exceeded() */
    int fd;             /* the socket below the sink, written to while the sink holds nothing; -1: none */
    int direct;         /* the sink was found empty, and nothing was handed to it since */
    int check;          /* taken output may pass the sendq unless the kernel takes it: check at send */
    vectorcallfunc vectorcall;  /* queue(data) is queue.write(data) (queue_call) */
} OutputQueue;

static PyObject *queue_call(PyObject *, PyObject *const *, size_t, PyObject *);

static int
queue_traverse(OutputQueue *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));  /* a heap type: its instances hold it */
    Py_VISIT(self->ip);
    Py_VISIT(self->first);
    Py_VISIT(self->rest);
    Py_VISIT(self->flusher);
    Py_VISIT(self->marked);
    Py_VISIT(self->sink);
    Py_VISIT(self->owner);
    return 0;
}

static int
queue_clear(OutputQueue *self)
{
    Py_CLEAR(self->ip);
    Py_CLEAR(self->first);
    Py_CLEAR(self->rest);
    Py_CLEAR(self->flusher);
    Py_CLEAR(self->marked);
    Py_CLEAR(self->sink);
    Py_CLEAR(self->owner);
    return 0;
}

static void
queue_dealloc(OutputQueue *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    queue_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static int
queue_init(OutputQueue *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"ip", "sendq", "flusher", "sink", "owner", "fd", "room", NULL};
    PyObject *ip, *flusher, *sink, *owner, *marked;
    Py_ssize_t sendq, room = 0;
    int fd = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OnOOO|in", kwlist, &ip, &sendq, &flusher, &sink, &owner, &fd, &room))
        return -1;
    marked = PyObject_GetAttr(flusher, str_marked);
    if (marked == NULL)
        return -1;
    if (!PyList_Check(marked)) {
        Py_DECREF(marked);
        PyErr_SetString(PyExc_TypeError, "flusher.marked must be a list");
        return -1;
    }
    Py_INCREF(ip);
    Py_INCREF(flusher);
    Py_INCREF(sink);
    Py_INCREF(owner);
    Py_XSETREF(self->ip, ip);
    Py_XSETREF(self->flusher, flusher);
    Py_XSETREF(self->marked, marked);
    Py_XSETREF(self->sink, sink);
    Py_XSETREF(self->owner, owner);
    Py_CLEAR(self->first);
    Py_CLEAR(self->rest);
    self->sendq = sendq;
    self->room = room;
    self->closing = 0;
    self->size = 0;
    self->held = 0;
    self->sent = 0;
    self->vectorcall = queue_call;
    self->fd = fd;
    self->direct = 0;
    self->check = 0;
    return 0;
}

static Py_ssize_t
length_of(PyObject *data)
{
    if (PyBytes_CheckExact(data))
        return PyBytes_GET_SIZE(data);
    return PyObject_Size(data);
}

/* flusher.mark(queue) after the queue is in flusher.marked (transport/flusher.py): the
 * first output of every loop iteration passes here, so its pass is scheduled as mark does
 * it, without mark's Python frame: `_scheduled` set, then `_schedule()`, the loop's
 * call_soon of the flush bound to it (a partial: no Python frame either on uvloop).
 * 0, or -1 with an exception set. */
static SlotCache scheduled_slot = {&str_scheduled, NULL, 0, 0};
static SlotCache schedule_slot = {&str_schedule, NULL, 0, 0};

static int
wake_flusher(PyObject *flusher)
{
    PyObject *scheduled = slot_get(&scheduled_slot, flusher);
    if (scheduled == NULL)
        return -1;
    int already = PyObject_IsTrue(scheduled);
    Py_DECREF(scheduled);
    if (already != 0)
        return already < 0 ? -1 : 0;
    if (slot_set(&scheduled_slot, flusher, Py_True) < 0)
        return -1;
    PyObject *schedule = slot_get(&schedule_slot, flusher);
    if (schedule == NULL)
        return -1;
    PyObject *r = PyObject_CallNoArgs(schedule);
    Py_DECREF(schedule);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* write(data): collect `data` for the next flush (nothing past what one pass may send). */
static PyObject *
queue_write(OutputQueue *self, PyObject *data)
{
    Py_ssize_t size = self->size;
    if (size - self->room > self->sendq)  /* size > sendq + room, without overflowing a huge sendq */
        Py_RETURN_NONE;
    Py_ssize_t length = length_of(data);
    if (length < 0)
        return NULL;
    if (length == 0)
        Py_RETURN_NONE;
    if (self->sink == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "OutputQueue not initialized");
        return NULL;
    }
    if (size == 0) {  /* the first bytes since the last flush: the flusher must come by */
        if (PyList_Append(self->marked, (PyObject *)self) < 0)
            return NULL;
        if (PyList_GET_SIZE(self->marked) == 1 && wake_flusher(self->flusher) < 0)
            return NULL;
        Py_INCREF(data);
        Py_XSETREF(self->first, data);
    }
    else {  /* more than one write between flushes: a burst, joined at the flush */
        if (self->rest == NULL && (self->rest = PyList_New(0)) == NULL)
            return NULL;
        if (PyList_Append(self->rest, data) < 0)
            return NULL;
    }
    self->size = size + length;
    Py_RETURN_NONE;
}

/* queue(data): what queue.write(data) does. A connection keeps its queue as its `write`
 * (transport/tcp.py) rather than the bound method, which was 72 bytes more a client. */
static PyObject *
queue_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "OutputQueue(data) takes one argument");
        return NULL;
    }
    return queue_write((OutputQueue *)callable, args[0]);
}

/* `first` and the items of the list `rest`, joined (a new reference): copied at once
 * when they are all bytes, as they are, else by bytes.join. */
static PyObject *
join(PyObject *first, PyObject *rest)
{
    Py_ssize_t n = PyList_GET_SIZE(rest);
    Py_ssize_t total = 0;
    int plain = PyBytes_CheckExact(first);
    if (plain)
        total = PyBytes_GET_SIZE(first);
    for (Py_ssize_t i = 0; plain && i < n; i++) {
        PyObject *item = PyList_GET_ITEM(rest, i);
        plain = PyBytes_CheckExact(item);
        if (plain)
            total += PyBytes_GET_SIZE(item);
    }
    if (!plain) {
        PyObject *all = PyList_New(1);
        if (all == NULL)
            return NULL;
        Py_INCREF(first);
        PyList_SET_ITEM(all, 0, first);
        if (PyList_SetSlice(all, 1, 1, rest) < 0) {
            Py_DECREF(all);
            return NULL;
        }
        PyObject *data = PyObject_CallMethod(empty_bytes, "join", "O", all);
        Py_DECREF(all);
        return data;
    }
    PyObject *data = PyBytes_FromStringAndSize(NULL, total);
    if (data == NULL)
        return NULL;
    char *at = PyBytes_AS_STRING(data);
    memcpy(at, PyBytes_AS_STRING(first), PyBytes_GET_SIZE(first));
    at += PyBytes_GET_SIZE(first);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(rest, i);
        memcpy(at, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
        at += PyBytes_GET_SIZE(item);
    }
    return data;
}

/* What was collected, as one bytes object (a new reference), the queue emptied. */
static PyObject *
collected(OutputQueue *self)
{
    PyObject *data;
    if (self->rest == NULL) {  /* one write since the last flush: everyday load */
        data = self->first;
        self->first = NULL;
        return data;
    }
    data = join(self->first, self->rest);
    if (data == NULL)
        return NULL;
    Py_CLEAR(self->first);
    Py_CLEAR(self->rest);
    return data;
}

/* The sink's `write` and `get_write_buffer_size`, as its type's own functions to call
 * with the sink first (borrowed; 1), when its type cannot change and its instances have
 * no dict, as uvloop's transports: two method lookups less per delivery. 0 otherwise
 * (then the methods are looked up on the sink). One type is remembered at a time. */
static PyTypeObject *sink_type;
static PyObject *sink_write_fn, *sink_pending_fn;

static int
sink_methods(PyObject *sink, PyObject **write, PyObject **pending)
{
    PyTypeObject *type = Py_TYPE(sink);
    if (type != sink_type) {
        if (!PyType_HasFeature(type, Py_TPFLAGS_IMMUTABLETYPE) || type->tp_dictoffset != 0)
            return 0;
        PyObject *w = PyObject_GetAttr((PyObject *)type, str_write);
        PyObject *p = w != NULL ? PyObject_GetAttr((PyObject *)type, str_pending) : NULL;
        if (w == NULL || p == NULL) {
            Py_XDECREF(w);
            PyErr_Clear();
            return 0;
        }
        Py_INCREF(type);
        Py_XSETREF(sink_type, type);
        Py_XSETREF(sink_write_fn, w);
        Py_XSETREF(sink_pending_fn, p);
    }
    *write = sink_write_fn;
    *pending = sink_pending_fn;
    return 1;
}

/* What the sink holds (>= 0), or -1 on error: nothing while we write to the socket
 * ourselves; else it is asked, and when it holds nothing the socket is ours again. */
static Py_ssize_t
pending_of(OutputQueue *self)
{
    if (self->direct)
        return 0;
    PyObject *r;
    PyObject *args[1] = {self->sink};
    PyObject *write, *pending_fn;
    if (sink_methods(self->sink, &write, &pending_fn))
        r = PyObject_Vectorcall(pending_fn, args, 1, NULL);
    else
        r = PyObject_VectorcallMethod(str_pending, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL)
        return -1;
    Py_ssize_t pending = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    if (pending < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "negative write buffer size");
        return -1;
    }
    if (pending == 0 && self->fd >= 0)
        self->direct = 1;
    return pending;
}

/* Tell the connection it is past its sendq: 0, or -1 on error. */
static int
exceeded(OutputQueue *self)
{
    PyObject *oargs[1] = {self->owner};
    PyObject *r = PyObject_VectorcallMethod(str_exceeded, oargs, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* After a write that may have used the room (past the sendq unless the kernel took it):
 * whether what the kernel left (and what is still held) passes the sendq, and then the
 * connection is told (gate.py's checks). */
static PyObject *
check_left(OutputQueue *self)
{
    if (self->direct || self->closing)
        Py_RETURN_NONE;
    Py_ssize_t pending = pending_of(self);
    if (pending < 0)
        return NULL;
    if (pending + self->held > self->sendq && exceeded(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
sink_write(OutputQueue *self, PyObject *data)
{
    PyObject *args[2] = {self->sink, data};
    PyObject *write, *pending, *r;
    if (sink_methods(self->sink, &write, &pending))
        r = PyObject_Vectorcall(write, args, 2, NULL);
    else
        r = PyObject_VectorcallMethod(str_write, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

/* `data` to the socket while the sink holds nothing for it; what the kernel does not take
 * at once (a full socket, an error) to the sink, which buffers it or ends the connection
 * as it would have, and the sink is written to from then on (gate.py's OutputQueue._put). */
static PyObject *
queue_put(OutputQueue *self, PyObject *data)
{
    if (!self->direct)
        return sink_write(self, data);
    Py_buffer view;
    const char *buf;
    Py_ssize_t length;
    int viewed = !PyBytes_CheckExact(data);
    if (viewed) {
        if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
            return NULL;
        buf = view.buf;
        length = view.len;
    }
    else {
        buf = PyBytes_AS_STRING(data);
        length = PyBytes_GET_SIZE(data);
    }
    ssize_t written;
    do  /* send(), not write(): the socket's own call, without the file layer's steps */
        written = send(self->fd, buf, (size_t)length, MSG_NOSIGNAL);
    while (written < 0 && errno == EINTR);
    if (written < 0)
        written = 0;
    PyObject *rest = NULL;
    if (written < length) {
        self->direct = 0;
        rest = written == 0 && !viewed ? Py_NewRef(data) : PyBytes_FromStringAndSize(buf + written, length - written);
    }
    if (viewed)
        PyBuffer_Release(&view);
    if (written == length)
        Py_RETURN_NONE;
    if (rest == NULL)
        return NULL;
    PyObject *r = sink_write(self, rest);
    Py_DECREF(rest);
    return r;
}

/* flush(): write out what was collected (or report the client past its sendq): as
 * gate.py's OutputQueue.flush, which says why. */
static PyObject *
queue_flush(OutputQueue *self, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t size = self->size;
    if (size == 0 || self->first == NULL)
        Py_RETURN_NONE;
    PyObject *data = collected(self);
    if (data == NULL)
        return NULL;
    self->size = 0;
    Py_ssize_t waiting = pending_of(self);
    if (waiting < 0) {
        Py_DECREF(data);
        return NULL;
    }
    waiting += self->held;
    int check = 0;
    if (size + waiting > self->sendq && !self->closing) {
        if (waiting || size - self->room > self->sendq) {
            Py_DECREF(data);
            if (exceeded(self) < 0)
                return NULL;
            Py_RETURN_NONE;
        }
        check = 1;
    }
    self->sent += size;
    PyObject *r = queue_put(self, data);
    Py_DECREF(data);
    if (r == NULL || !check)
        return r;
    Py_DECREF(r);
    return check_left(self);
}

/* take(): what flush would write, kept back until the store has committed it. */
static PyObject *
queue_take(OutputQueue *self, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t size = self->size;
    if (size == 0 || self->first == NULL)
        return Py_NewRef(empty_bytes);
    PyObject *data = collected(self);
    if (data == NULL)
        return NULL;
    self->size = 0;
    Py_ssize_t pending = pending_of(self);
    if (pending < 0) {
        Py_DECREF(data);
        return NULL;
    }
    /* as gate.py's OutputQueue.take */
    Py_ssize_t waiting = size + self->held + pending;
    if (waiting > self->sendq && !self->closing) {
        if (pending || waiting - self->room > self->sendq) {
            Py_DECREF(data);
            if (exceeded(self) < 0)
                return NULL;
            return Py_NewRef(empty_bytes);
        }
        self->check = 1;
    }
    Py_ssize_t length = length_of(data);
    if (length < 0) {
        Py_DECREF(data);
        return NULL;
    }
    self->held += length;
    return data;
}

/* send(data): write what take() kept back, now that it may go. */
static PyObject *
queue_send(OutputQueue *self, PyObject *data)
{
    Py_ssize_t length = length_of(data);
    if (length < 0)
        return NULL;
    self->held -= length;
    if (length > 0 && self->sendq >= 0) {
        self->sent += length;
        PyObject *r = queue_put(self, data);
        if (r == NULL || !self->check)
            return r;
        Py_DECREF(r);
        self->check = self->held > 0;
        return check_left(self);
    }
    Py_RETURN_NONE;
}

static PyObject *
queue_abort(OutputQueue *self, PyObject *Py_UNUSED(ignored))
{
    self->fd = -1;
    self->direct = 0;
    PyObject *args[1] = {self->sink};
    return PyObject_VectorcallMethod(str_abort, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static PyObject *
queue_clear_output(OutputQueue *self, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(self->first);
    Py_CLEAR(self->rest);
    self->size = 0;
    Py_RETURN_NONE;
}

static PyObject *
queue_stop(OutputQueue *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *r = queue_clear_output(self, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    self->sendq = -1;
    self->room = 0;
    self->fd = -1;
    self->direct = 0;
    Py_RETURN_NONE;
}

static PyObject *
queue_get_size(OutputQueue *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->size);
}

static PyObject *
queue_get_unsent(OutputQueue *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->size + self->held);
}

static PyObject *
queue_get_closing(OutputQueue *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->closing);
}

static int
queue_set_closing(OutputQueue *self, PyObject *value, void *Py_UNUSED(closure))
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete closing");
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    self->closing = truth;
    return 0;
}

static PyMethodDef queue_methods[] = {
    {"write", (PyCFunction)queue_write, METH_O, "Collect bytes for the next flush."},
    {"flush", (PyCFunction)queue_flush, METH_NOARGS, "Write out what was collected."},
    {"take", (PyCFunction)queue_take, METH_NOARGS, "What flush would write, kept back."},
    {"send", (PyCFunction)queue_send, METH_O, "Write what take kept back."},
    {"abort", (PyCFunction)queue_abort, METH_NOARGS, "Close the connection now."},
    {"clear", (PyCFunction)queue_clear_output, METH_NOARGS, "Drop what was collected."},
    {"stop", (PyCFunction)queue_stop, METH_NOARGS, "Collect nothing more."},
    {NULL}
};

static PyMemberDef queue_members[] = {
    {"ip", T_OBJECT, offsetof(OutputQueue, ip), READONLY, NULL},
    {"sendq", T_PYSSIZET, offsetof(OutputQueue, sendq), 0, NULL},
    {"room", T_PYSSIZET, offsetof(OutputQueue, room), 0, NULL},
    {"sent", T_PYSSIZET, offsetof(OutputQueue, sent), 0, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(OutputQueue, vectorcall), READONLY, NULL},
    {NULL}
};

static PyGetSetDef queue_getset[] = {
    {"size", (getter)queue_get_size, NULL, "Bytes collected since the last flush.", NULL},
    {"unsent", (getter)queue_get_unsent, NULL, "Bytes collected or held for the store, not yet written.", NULL},
    {"closing", (getter)queue_get_closing, (setter)queue_set_closing, NULL, NULL},
    {NULL}
};

static PyType_Slot queue_slots[] = {
    {Py_tp_doc, "A connection's unsent output (see hubbub/transport/gate.py)."},
    {Py_tp_traverse, queue_traverse},
    {Py_tp_clear, queue_clear},
    {Py_tp_dealloc, queue_dealloc},
    {Py_tp_init, queue_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, queue_methods},
    {Py_tp_members, queue_members},
    {Py_tp_getset, queue_getset},
    {Py_tp_call, PyVectorcall_Call},
    {0, NULL}
};

static PyType_Spec queue_spec = {
    .name = "hubbub._speedups.OutputQueue",
    .basicsize = sizeof(OutputQueue),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = queue_slots,
};

/* -- Outgoing, made without its __init__, and its bare form ------------------------- */

/* server/delivery.py's Outgoing is what every chat message is delivered as: one is made
 * per message (announce._said) and, for recipients that asked for no tags, its bare wire
 * form is encoded once (Outgoing.irc_bytes with no form bits) and kept in its `_bare` slot.
 * Both are a Python frame each per message, paid cold between messages. Here they are
 * made in C the same way: `outgoing` fills the slots __init__ would, and deliver_to takes
 * the bare form itself (the slot, or `encode(message)` kept there) for an Outgoing of the
 * registered class exactly (any other, or a form encode refuses: irc_bytes as before).
 * delivery.py registers the class once (outgoing_class), with the encoder irc_bytes uses
 * and the bits that make a form other than the bare one. */
enum {OUT_MESSAGE, OUT_TIME, OUT_MSGID, OUT_CLIENT_TAGS, OUT_ACCOUNT, OUT_BOT, OUT_BARE, OUT_FORMS, OUT_FIELDS};
static PyTypeObject *out_type;       /* strong reference; NULL: not registered */
static Py_ssize_t out_offsets[OUT_FIELDS];  /* all 0: the class is called as it is */
static PyObject *out_encode;         /* Message -> bytes, or None: Message.encode's way */
static long out_form_bits;           /* tag masks with any of these have forms of their own */

static int slot_offsets(PyTypeObject *type, PyObject *const *names, int count, Py_ssize_t *offsets);

/* outgoing_class(type, encode, form_bits): the class `outgoing` makes and deliver_to
 * knows the bare form of. */
static PyObject *
outgoing_class(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyType_Check(args[0]) || !PyCallable_Check(args[1]) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "outgoing_class(type, encode, form_bits: int)");
        return NULL;
    }
    long bits = PyLong_AsLong(args[2]);
    if (bits == -1 && PyErr_Occurred())
        return NULL;
    const char *fields[OUT_FIELDS] = {"message", "time", "msgid", "client_tags", "account", "bot", "_bare", "_forms"};
    PyObject *names[OUT_FIELDS] = {NULL};
    Py_ssize_t offsets[OUT_FIELDS] = {0};
    int usable = 0;
    for (int i = 0; i < OUT_FIELDS; i++)
        if ((names[i] = PyUnicode_InternFromString(fields[i])) == NULL)
            goto done;
    usable = slot_offsets((PyTypeObject *)args[0], names, OUT_FIELDS, offsets);
    if (usable >= 0) {
        Py_XSETREF(out_type, (PyTypeObject *)Py_NewRef(args[0]));
        Py_XSETREF(out_encode, Py_NewRef(args[1]));
        out_form_bits = bits;
        memcpy(out_offsets, offsets, sizeof(offsets));
    }
done:
    for (int i = 0; i < OUT_FIELDS; i++)
        Py_XDECREF(names[i]);
    if (usable < 0 || PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(usable);
}

/* outgoing(message, time, msgid, client_tags=None, account=None, bot=False): the
 * registered class's `type(message, time, msgid, client_tags, account, bot)`. */
static PyObject *
outgoing(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (out_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "outgoing: no class registered (outgoing_class)");
        return NULL;
    }
    if (nargs < 3 || nargs > 6) {
        PyErr_SetString(PyExc_TypeError, "outgoing(message, time, msgid, client_tags=None, account=None, bot=False)");
        return NULL;
    }
    if (out_offsets[0] == 0)
        return PyObject_Vectorcall((PyObject *)out_type, args, nargs, NULL);
    PyObject *values[OUT_FIELDS] = {args[0], args[1], args[2], Py_None, Py_None, Py_False, Py_None, Py_None};
    for (Py_ssize_t i = 3; i < nargs; i++)
        values[i] = args[i];
    PyObject *made = out_type->tp_alloc(out_type, 0);
    if (made == NULL)
        return NULL;
    for (int i = 0; i < OUT_FIELDS; i++)
        *(PyObject **)((char *)made + out_offsets[i]) = Py_NewRef(values[i]);
    return made;
}

/* The bare form of `out` (a new reference) when deliver_to may take it itself: an
 * Outgoing of the registered class, for a mask with no form bits, that encode can write.
 * NULL with no exception set: ask irc_bytes. */
static PyObject *
bare_form(PyObject *out, long mask)
{
    if (Py_TYPE(out) != out_type || out_offsets[0] == 0 || (mask & out_form_bits) != 0)
        return NULL;
    PyObject **bare = (PyObject **)((char *)out + out_offsets[OUT_BARE]);
    if (*bare != NULL && PyBytes_CheckExact(*bare))
        return Py_NewRef(*bare);
    PyObject *message = *(PyObject **)((char *)out + out_offsets[OUT_MESSAGE]);
    if (message == NULL)
        return NULL;
    PyObject *data = PyObject_CallOneArg(out_encode, message);
    if (data == NULL || !PyBytes_CheckExact(data)) {  /* an error (raised), or None: the Python way */
        Py_XDECREF(data);
        return NULL;
    }
    Py_XSETREF(*bare, Py_NewRef(data));
    return data;
}

/* -- deliver ----------------------------------------------------------------------- */

static SlotCache fast_slot = {&str_fast, NULL, 0, 0};
static SlotCache mask_slot = {&str_tag_mask, NULL, 0, 0};
static SlotCache write_slot = {&str_write, NULL, 0, 0};
static PyTypeObject *queue_type;  /* OutputQueue (the module holds it) */

/* link.write(data): straight to queue_write when the link's write is an OutputQueue's. */
static PyObject *
link_write(PyObject *link, PyObject *data)
{
    PyObject *write = slot_get(&write_slot, link);
    if (write == NULL)
        return NULL;
    PyObject *r;
    if (Py_TYPE(write) == queue_type)  /* a plain connection's: its queue itself */
        r = queue_write((OutputQueue *)write, data);
    else if (PyCFunction_Check(write) && PyCFunction_GET_FUNCTION(write) == (PyCFunction)queue_write
        && Py_TYPE(PyCFunction_GET_SELF(write)) == queue_type)
        r = queue_write((OutputQueue *)PyCFunction_GET_SELF(write), data);
    else
        r = PyObject_CallOneArg(write, data);
    Py_DECREF(write);
    return r;
}

#define FORMS 16  /* every tag mask is below this (server/delivery.py ALL_MASKS) */

/* The ints 0 to FORMS - 1, which CPython makes once and shares (its small ints): a
 * connection's tag_mask is one of them, so it is found by its address, next to the
 * others in one array, rather than converted (PyLong_AsLong's checks, for each member
 * of each message). `masks_in_a_row`: they were found one sizeof(PyLongObject) apart at
 * start-up; without that, or for any other object, the conversion is made. */
static PyObject *mask_ints[FORMS];
static int masks_in_a_row;

static int
find_mask_ints(void)
{
    for (long i = 0; i < FORMS; i++)
        if ((mask_ints[i] = PyLong_FromLong(i)) == NULL)
            return -1;
    masks_in_a_row = 1;
    for (long i = 1; i < FORMS; i++)
        if ((uintptr_t)mask_ints[i] - (uintptr_t)mask_ints[0] != (uintptr_t)i * sizeof(PyLongObject))
            masks_in_a_row = 0;
    return 0;
}

/* A tag mask as a C long: 0 to FORMS - 1, or -1 with an exception set. */
static inline long
mask_value(PyObject *m)
{
    if (masks_in_a_row) {
        size_t at = (size_t)((uintptr_t)m - (uintptr_t)mask_ints[0]);  /* below the first: past them all */
        if (at < FORMS * sizeof(PyLongObject) && at % sizeof(PyLongObject) == 0) {
            long i = (long)(at / sizeof(PyLongObject));
            if (mask_ints[i] == m)
                return i;
        }
    }
    long mask = PyLong_AsLong(m);
    if ((mask == -1 && PyErr_Occurred()) || mask < 0 || mask >= FORMS) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "deliver: tag_mask out of range");
        return -1;
    }
    return mask;
}

/* One connection's copy of `out`: when its `fast` link is set, `out`'s wire form for its
 * `tag_mask`, taken from `forms` or fetched once into it, written there; otherwise
 * `conn.deliver(out)`. 0, or -1 with an exception set. */
static int
deliver_to(PyObject *conn, PyObject *out, PyObject **forms)
{
    PyObject *fast = slot_get(&fast_slot, conn);
    if (fast == NULL)
        return -1;
    PyObject *r;
    if (fast == Py_None) {
        Py_DECREF(fast);
        PyObject *dargs[2] = {conn, out};
        r = PyObject_VectorcallMethod(str_deliver, dargs, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    else {
        PyObject *m = slot_get(&mask_slot, conn);
        if (m == NULL) {
            Py_DECREF(fast);
            return -1;
        }
        long mask = mask_value(m);
        Py_DECREF(m);
        if (mask < 0) {
            Py_DECREF(fast);
            return -1;
        }
        PyObject *data = forms[mask];
        if (data == NULL && (data = bare_form(out, mask)) == NULL && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (data != NULL)
            forms[mask] = data;
        else {
            PyObject *bargs[2] = {out, NULL};
            bargs[1] = PyLong_FromLong(mask);
            if (bargs[1] == NULL) {
                Py_DECREF(fast);
                return -1;
            }
            data = PyObject_VectorcallMethod(str_irc_bytes, bargs, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            Py_DECREF(bargs[1]);
            if (data == NULL) {
                Py_DECREF(fast);
                return -1;
            }
            forms[mask] = data;
        }
        r = link_write(fast, data);
        Py_DECREF(fast);
    }
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* deliver(local, skip, out): the loop of announce.to_members. For every connection in
 * the dict `local` but `skip`, deliver_to (each wire form fetched once). */
static PyObject *
deliver(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "deliver(local, skip, out)");
        return NULL;
    }
    PyObject *local = args[0], *skip = args[1], *out = args[2];
    if (!PyDict_Check(local)) {
        PyErr_SetString(PyExc_TypeError, "deliver: local must be a dict");
        return NULL;
    }
    PyObject *forms[FORMS] = {NULL};
    PyObject *result = NULL;
    Py_ssize_t pos = 0, expected = PyDict_GET_SIZE(local);
    PyObject *conn, *value;
    while (PyDict_Next(local, &pos, &conn, &value)) {
        if (conn == skip)
            continue;
        Py_INCREF(conn);
        int failed = deliver_to(conn, out, forms);
        Py_DECREF(conn);
        if (failed)
            goto done;
        if (PyDict_GET_SIZE(local) != expected) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    for (int i = 0; i < FORMS; i++)
        Py_XDECREF(forms[i]);
    return result;
}

/* deliver_one(conn, out): `conn.deliver(out)`, for a message to one user, as deliver
 * writes each member's copy: without the Python frame of Connection.deliver when the
 * connection's `fast` link is set. */
static PyObject *
deliver_one(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "deliver_one(conn, out)");
        return NULL;
    }
    PyObject *forms[FORMS] = {NULL};
    int failed = deliver_to(args[0], args[1], forms);
    for (int i = 0; i < FORMS; i++)
        Py_XDECREF(forms[i]);
    return failed ? NULL : Py_NewRef(Py_None);
}

/* Calls failed(queue, exception) for the exception being raised, when it is an
 * Exception (0); -1 when it must go on being raised, or failed itself raised. */
static int
report(PyObject *failed, PyObject *queue)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    PyObject *args[2] = {queue, value};
    PyObject *r = PyObject_Vectorcall(failed, args, 2, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* flush_each(queues, failed): queue.flush() for each queue of the list; when one
 * raises an Exception, failed(queue, exception) is called and the others go on. */
static PyObject *
flush_each(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "flush_each(queues: list, failed)");
        return NULL;
    }
    PyObject *queues = args[0], *failed = args[1];
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(queues); i++) {
        PyObject *queue = PyList_GET_ITEM(queues, i);
        Py_INCREF(queue);
        PyObject *r;
        if (Py_TYPE(queue) == queue_type)
            r = queue_flush((OutputQueue *)queue, NULL);
        else {
            PyObject *fargs[1] = {queue};
            r = PyObject_VectorcallMethod(str_flush, fargs, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        if (r == NULL && report(failed, queue) < 0) {
            Py_DECREF(queue);
            return NULL;
        }
        Py_XDECREF(r);
        Py_DECREF(queue);
    }
    Py_RETURN_NONE;
}

/* take_each(queues): [queue.take() for queue in queues]. */
static PyObject *
take_each(PyObject *module, PyObject *queues)
{
    if (!PyList_Check(queues)) {
        PyErr_SetString(PyExc_TypeError, "take_each(queues: list)");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(queues);
    PyObject *taken = PyList_New(n);
    if (taken == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(queues); i++) {
        PyObject *queue = PyList_GET_ITEM(queues, i);
        Py_INCREF(queue);
        PyObject *data;
        if (Py_TYPE(queue) == queue_type)
            data = queue_take((OutputQueue *)queue, NULL);
        else {
            PyObject *args[1] = {queue};
            data = PyObject_VectorcallMethod(str_take, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        Py_DECREF(queue);
        if (data == NULL) {
            Py_DECREF(taken);
            return NULL;
        }
        PyList_SET_ITEM(taken, i, data);
    }
    for (Py_ssize_t i = PyList_GET_SIZE(queues); i < n; i++)  /* the list shrank meanwhile */
        PyList_SET_ITEM(taken, i, Py_NewRef(empty_bytes));
    return taken;
}

/* send_each(queues, data, failed): queue.send(taken) for each pair; when one raises an
 * Exception, failed(queue, exception) and the others go on. */
static PyObject *
send_each(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "send_each(queues: list, data: list, failed)");
        return NULL;
    }
    PyObject *queues = args[0], *data = args[1], *failed = args[2];
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(queues) && i < PyList_GET_SIZE(data); i++) {
        PyObject *queue = PyList_GET_ITEM(queues, i), *taken = PyList_GET_ITEM(data, i);
        Py_INCREF(queue);
        Py_INCREF(taken);
        PyObject *r;
        if (Py_TYPE(queue) == queue_type)
            r = queue_send((OutputQueue *)queue, taken);
        else {
            PyObject *margs[2] = {queue, taken};
            r = PyObject_VectorcallMethod(str_send, margs, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        Py_DECREF(taken);
        if (r == NULL && report(failed, queue) < 0) {
            Py_DECREF(queue);
            return NULL;
        }
        Py_XDECREF(r);
        Py_DECREF(queue);
    }
    Py_RETURN_NONE;
}



/* -- LineBuffer ---------------------------------------------------------------------- */

/* The same class as hubbub/irc/framing.py's LineBuffer (the reference, and the fallback):
 * received bytes in, complete lines out (LF ends a line, a CR before it is dropped), an
 * over-long line reported once as None and skipped up to its end. */
typedef struct {
    PyObject_HEAD
    PyObject *buf;      /* bytes: the start of a line still waiting for its end */
    Py_ssize_t max;     /* the longest line, without its ending */
    int skipping;       /* inside an over-long line: dropping up to the next LF */
} LineBuffer;

static int
framer_init(LineBuffer *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"max_line", NULL};
    Py_ssize_t max;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n", names, &max))
        return -1;
    if (max < 0) {
        PyErr_SetString(PyExc_ValueError, "max_line must be at least 0");
        return -1;
    }
    Py_XSETREF(self->buf, Py_NewRef(empty_bytes));
    self->max = max;
    self->skipping = 0;
    return 0;
}

static int
framer_traverse(LineBuffer *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->buf);
    return 0;
}

static int
framer_clear(LineBuffer *self)
{
    Py_CLEAR(self->buf);
    return 0;
}

static void
framer_dealloc(LineBuffer *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    framer_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

/* Append one line (data[start:end], its CR dropped) or None when it is too long. */
static int
framer_line(LineBuffer *self, PyObject *out, const char *data, Py_ssize_t start, Py_ssize_t end)
{
    if (end > start && data[end - 1] == '\r')
        end--;
    if (self->skipping) {
        self->skipping = 0;
        return 0;
    }
    PyObject *line = end - start > self->max ? Py_NewRef(Py_None)
                                             : PyBytes_FromStringAndSize(data + start, end - start);
    if (line == NULL)
        return -1;
    int r = PyList_Append(out, line);
    Py_DECREF(line);
    return r;
}

static PyObject *
framer_feed(LineBuffer *self, PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "feed(data: bytes)");
        return NULL;
    }
    if (self->buf == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LineBuffer not initialized");
        return NULL;
    }
    PyObject *out = PyList_New(0);  /* first: it may collect garbage, and so run code */
    if (out == NULL)
        return NULL;
    Py_ssize_t n = PyBytes_GET_SIZE(arg), waiting = PyBytes_GET_SIZE(self->buf);
    const char *s = PyBytes_AS_STRING(arg);
    if (n && !waiting && !self->skipping && memchr(s, '\n', n) == s + n - 1) {
        /* one whole line and nothing waiting: nearly every read at everyday load */
        Py_ssize_t end = n - 1;
        if (end > 0 && s[end - 1] == '\r')
            end--;
        PyObject *line = end > self->max ? Py_NewRef(Py_None) : PyBytes_FromStringAndSize(s, end);
        if (line == NULL || PyList_Append(out, line) < 0) {
            Py_XDECREF(line);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(line);
        return out;
    }
    PyObject *joined = NULL;
    if (waiting) {
        joined = PyBytes_FromStringAndSize(NULL, waiting + n);
        if (joined == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        memcpy(PyBytes_AS_STRING(joined), PyBytes_AS_STRING(self->buf), waiting);
        memcpy(PyBytes_AS_STRING(joined) + waiting, s, n);
        s = PyBytes_AS_STRING(joined);
        n += waiting;
    }
    Py_ssize_t start = 0;
    const char *lf;
    while (start <= n && (lf = memchr(s + start, '\n', n - start)) != NULL) {
        Py_ssize_t end = lf - s;
        if (framer_line(self, out, s, start, end) < 0) {
            Py_XDECREF(joined);
            Py_DECREF(out);
            return NULL;
        }
        start = end + 1;
    }
    Py_ssize_t rest = n - start;
    /* The limit counts the line without its ending, so a full-length line may wait here
     * with its CR while the LF is still on the way. */
    if (rest > self->max && !self->skipping && !(rest == self->max + 1 && rest > 0 && s[n - 1] == '\r')) {
        if (PyList_Append(out, Py_None) < 0) {
            Py_XDECREF(joined);
            Py_DECREF(out);
            return NULL;
        }
        self->skipping = 1;
    }
    PyObject *kept = self->skipping || rest == 0 ? Py_NewRef(empty_bytes)
                   : start == 0 && joined == NULL ? Py_NewRef(arg)
                   : PyBytes_FromStringAndSize(s + start, rest);
    Py_XDECREF(joined);
    if (kept == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    Py_SETREF(self->buf, kept);
    return out;
}

static PyObject *
framer_get_pending(LineBuffer *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->buf == NULL ? 0 : PyBytes_GET_SIZE(self->buf));
}

static PyMethodDef framer_methods[] = {
    {"feed", (PyCFunction)framer_feed, METH_O, "Add received bytes; return the complete lines."},
    {NULL}
};

static PyGetSetDef framer_getset[] = {
    {"pending", (getter)framer_get_pending, NULL, "Bytes of a line still waiting for its end.", NULL},
    {NULL}
};

static PyType_Slot framer_slots[] = {
    {Py_tp_doc, "Received bytes split into IRC lines (see hubbub/irc/framing.py)."},
    {Py_tp_traverse, framer_traverse},
    {Py_tp_clear, framer_clear},
    {Py_tp_dealloc, framer_dealloc},
    {Py_tp_init, framer_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_methods, framer_methods},
    {Py_tp_getset, framer_getset},
    {0, NULL}
};

static PyType_Spec framer_spec = {
    .name = "hubbub._speedups.LineBuffer",
    .basicsize = sizeof(LineBuffer),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = framer_slots,
};


/* -- TimeOrder --------------------------------------------------------------------- */

/* TimeOrder(timed, time_at, step_back_us, fallback): a callable doing what
 * hubbub/server/apply.py's in_time_order does (the reference: see its docstring), for
 * the events and clocks of everyday (a float time, integer clocks well within 2**53
 * microseconds); anything else goes to `fallback`, that Python function, unchanged. */
typedef struct {
    PyObject_HEAD
    PyObject *timed;      /* frozenset of the event types stamped with a time */
    PyObject *time_at;    /* dict: such a type -> the index of its time */
    long long step_back;  /* STEP_BACK_US */
    PyObject *fallback;
    vectorcallfunc vectorcall;
} TimeOrder;

static PyObject *str_clock_us;

#define EXACT_US 9007199254740992.0  /* 2**53: below it, a double holds every integer */

/* Python's round() of a float: to the nearest integer, halves to even. */
static double
round_half_even(double x)
{
    double rounded = round(x);
    if (fabs(x - rounded) == 0.5)
        rounded = 2.0 * round(x / 2.0);
    return rounded;
}

/* A Python int as a long long within +-2**53, or 0 (no exception) when it is none. */
static int
exact_us(PyObject *value, long long *out)
{
    if (!PyLong_CheckExact(value))
        return 0;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    if (v >= (long long)EXACT_US || v <= -(long long)EXACT_US)
        return 0;
    *out = v;
    return 1;
}

static PyObject *
time_order_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    TimeOrder *self = (TimeOrder *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs < 2 || nargs > 3)
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    PyObject *state = args[0], *event = args[1], *ceiling = nargs == 3 ? args[2] : Py_None;
    PyObject *kind = (PyObject *)Py_TYPE(event);
    int timed = PySet_Contains(self->timed, kind);
    if (timed < 0)
        return NULL;
    if (!timed)
        return Py_NewRef(event);
    PyObject *at_obj = PyDict_GetItemWithError(self->time_at, kind);  /* borrowed */
    if (at_obj == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto fallback;
    }
    Py_ssize_t at = PyLong_AsSsize_t(at_obj);
    if (at == -1 && PyErr_Occurred())
        return NULL;
    if (!PyTuple_Check(event) || at < 0 || at >= PyTuple_GET_SIZE(event))
        goto fallback;
    PyObject *time = PyTuple_GET_ITEM(event, at);
    if (!PyFloat_CheckExact(time))
        goto fallback;
    double scaled = PyFloat_AS_DOUBLE(time) * 1000000;
    if (!(fabs(scaled) < EXACT_US))  /* NaN, an infinity, or past what a double counts exactly */
        goto fallback;
    long long stamped = (long long)round_half_even(scaled), us = stamped, last, bound = 0;
    PyObject *clock = PyObject_GetAttr(state, str_clock_us);
    if (clock == NULL)
        return NULL;
    int usable = exact_us(clock, &last);
    Py_DECREF(clock);
    if (!usable || (ceiling != Py_None && !exact_us(ceiling, &bound)))
        goto fallback;
    if (ceiling != Py_None) {
        if (us > bound)
            us = bound;
        if (us <= last)
            us = last + 1;
    }
    else if (last - self->step_back <= us && us <= last)
        us = last + 1;
    PyObject *value = PyLong_FromLongLong(us);
    if (value == NULL)
        return NULL;
    int r = PyObject_SetAttr(state, str_clock_us, value);
    Py_DECREF(value);
    if (r < 0)
        return NULL;
    if (us == stamped)
        return Py_NewRef(event);
    /* a tuple made as the NamedTuple's own __new__ does, the time moved */
    Py_ssize_t size = PyTuple_GET_SIZE(event);
    PyObject *items = PyTuple_New(size);
    if (items == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *item = i == at ? PyFloat_FromDouble((double)us / 1000000) : Py_NewRef(PyTuple_GET_ITEM(event, i));
        if (item == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        PyTuple_SET_ITEM(items, i, item);
    }
    PyObject *pack = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (pack == NULL)
        return NULL;
    PyObject *moved = PyTuple_Type.tp_new((PyTypeObject *)kind, pack, NULL);
    Py_DECREF(pack);
    return moved;
fallback:
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

static int
time_order_init(TimeOrder *self, PyObject *args, PyObject *kwds)
{
    PyObject *timed, *time_at, *fallback;
    long long step_back;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "TimeOrder takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!LO", &PyFrozenSet_Type, &timed, &PyDict_Type, &time_at, &step_back, &fallback))
        return -1;
    if (step_back < 0 || step_back > (1LL << 62)) {  /* `last - step_back` never overflows */
        PyErr_SetString(PyExc_ValueError, "step_back_us out of range");
        return -1;
    }
    Py_XSETREF(self->timed, Py_NewRef(timed));
    Py_XSETREF(self->time_at, Py_NewRef(time_at));
    Py_XSETREF(self->fallback, Py_NewRef(fallback));
    self->step_back = step_back;
    self->vectorcall = time_order_call;
    return 0;
}

static int
time_order_traverse(TimeOrder *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->timed);
    Py_VISIT(self->time_at);
    Py_VISIT(self->fallback);
    return 0;
}

static int
time_order_clear(TimeOrder *self)
{
    self->vectorcall = NULL;  /* a call now goes to tp_call, which refuses it */
    Py_CLEAR(self->timed);
    Py_CLEAR(self->time_at);
    Py_CLEAR(self->fallback);
    return 0;
}

static void
time_order_dealloc(TimeOrder *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    time_order_clear(self);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
time_order_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    TimeOrder *self = (TimeOrder *)PyType_GenericNew(type, args, kwds);
    if (self != NULL)
        self->vectorcall = NULL;  /* callable only once initialized */
    return (PyObject *)self;
}

static PyObject *
time_order_tp_call(PyObject *callable, PyObject *args, PyObject *kwds)
{
    TimeOrder *self = (TimeOrder *)callable;
    if (self->fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "TimeOrder not initialized");
        return NULL;
    }
    return PyVectorcall_Call(callable, args, kwds);
}

static PyMemberDef time_order_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(TimeOrder, vectorcall), READONLY, NULL},
    {NULL}
};

static PyType_Slot time_order_slots[] = {
    {Py_tp_doc, "apply.in_time_order, compiled (see hubbub/server/apply.py)."},
    {Py_tp_traverse, time_order_traverse},
    {Py_tp_clear, time_order_clear},
    {Py_tp_dealloc, time_order_dealloc},
    {Py_tp_init, time_order_init},
    {Py_tp_new, time_order_new},
    {Py_tp_members, time_order_members},
    {Py_tp_call, time_order_tp_call},
    {0, NULL}
};

static PyType_Spec time_order_spec = {
    .name = "hubbub._speedups.TimeOrder",
    .basicsize = sizeof(TimeOrder),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = time_order_slots,
};

/* -- message ids ---------------------------------------------------------------------- */

/* server/delivery.py's new_msgid: a per-process prefix, then a counter in lowercase hex
 * ("%x" of 1, 2, 3...), one id per message. The Python one is the __next__ of a map over
 * itertools.count, called through a method-wrapper, formatting with `%`: about 100 ns a
 * message; this writes the digits itself. MsgIds(prefix, start=1), an ASCII prefix. */
typedef struct {
    PyObject_HEAD
    PyObject *prefix;
    unsigned long long next;
    vectorcallfunc vectorcall;
} MsgIds;

static PyObject *
msgids_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    MsgIds *self = (MsgIds *)callable;
    if (PyVectorcall_NARGS(nargsf) != 0 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "a MsgIds takes no arguments");
        return NULL;
    }
    char digits[16];
    int length = 0;
    unsigned long long value = self->next++;
    do {
        digits[15 - length++] = "0123456789abcdef"[value & 15];
        value >>= 4;
    } while (value != 0);
    Py_ssize_t prefix_length = PyUnicode_GET_LENGTH(self->prefix);
    PyObject *id = PyUnicode_New(prefix_length + length, 127);
    if (id == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(id), PyUnicode_1BYTE_DATA(self->prefix), prefix_length);
    memcpy(PyUnicode_1BYTE_DATA(id) + prefix_length, digits + 16 - length, length);
    return id;
}

static int
msgids_init(MsgIds *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"prefix", "start", NULL};
    PyObject *prefix;
    unsigned long long start = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|K", kwlist, &prefix, &start))
        return -1;
    if (!PyUnicode_IS_ASCII(prefix)) {
        PyErr_SetString(PyExc_ValueError, "MsgIds: the prefix must be ASCII");
        return -1;
    }
    Py_INCREF(prefix);
    Py_XSETREF(self->prefix, prefix);
    self->next = start;
    self->vectorcall = msgids_call;
    return 0;
}

static PyObject *
msgids_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    MsgIds *self = (MsgIds *)PyType_GenericNew(type, args, kwds);
    if (self != NULL)
        self->vectorcall = NULL;  /* callable only once initialized */
    return (PyObject *)self;
}

static PyObject *
msgids_tp_call(PyObject *callable, PyObject *args, PyObject *kwds)
{
    if (((MsgIds *)callable)->prefix == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "MsgIds not initialized");
        return NULL;
    }
    return PyVectorcall_Call(callable, args, kwds);
}

static void
msgids_dealloc(MsgIds *self)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_CLEAR(self->prefix);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyMemberDef msgids_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(MsgIds, vectorcall), READONLY, NULL},
    {NULL}
};

static PyType_Slot msgids_slots[] = {
    {Py_tp_doc, "delivery.new_msgid, compiled: MsgIds(prefix, start=1)() is prefix + '%x' % n, n counting up."},
    {Py_tp_dealloc, msgids_dealloc},
    {Py_tp_init, msgids_init},
    {Py_tp_new, msgids_new},
    {Py_tp_members, msgids_members},
    {Py_tp_call, msgids_tp_call},
    {0, NULL}
};

static PyType_Spec msgids_spec = {
    .name = "hubbub._speedups.MsgIds",
    .basicsize = sizeof(MsgIds),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = msgids_slots,
};

/* -- the line, read and written ------------------------------------------------------ */

/* -- casefold ----------------------------------------------------------------------- */

/* casefold(name): irc/casemap.py's casefold (CASEMAPPING=ascii: A-Z to a-z, nothing else),
 * asked of every message's target and every nick looked up. A name with no capital is
 * returned as it is (a str is immutable: the same value). */
static PyObject *
casefold(PyObject *module, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "casefold: a str is needed");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    int kind = PyUnicode_KIND(name);
    const void *data = PyUnicode_DATA(name);
    Py_ssize_t first = 0;
    while (first < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, first);
        if (c >= 'A' && c <= 'Z')
            break;
        first++;
    }
    if (first == n)
        return PyUnicode_CheckExact(name) ? Py_NewRef(name) : PyUnicode_FromKindAndData(kind, data, n);
    PyObject *folded = PyUnicode_New(n, PyUnicode_MAX_CHAR_VALUE(name));
    if (folded == NULL)
        return NULL;
    int out_kind = PyUnicode_KIND(folded);
    void *out = PyUnicode_DATA(folded);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        PyUnicode_WRITE(out_kind, out, i, (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    return folded;
}

/* -- Message, made without its __init__ ---------------------------------------------- */

/* irc/message.py's Message is a dataclass with slots whose __init__ only assigns its four
 * fields (command, params, source, tags). A message is made twice per chat line (read,
 * then relayed), so the compiled twins fill the slots of a new instance themselves, the
 * Python frame of __init__ left out: the same object. The slots' offsets are read from
 * the class's member descriptors; a class whose fields are not such slots (another
 * factory, a changed Message) is called as it is. */
static PyTypeObject *message_type;    /* strong reference: the class the offsets are of */
static Py_ssize_t message_offsets[4]; /* command, params, source, tags; 0: call the class */

/* The offsets of the `count` fields `names` of `type` into `offsets`: 1 when each is a
 * __slots__ slot and its instances are made as object.__new__ makes them, so that one can
 * be made by filling them; 0 when not (all offsets 0); -1 with an exception set. */
static int
slot_offsets(PyTypeObject *type, PyObject *const *names, int count, Py_ssize_t *offsets)
{
    int usable = type->tp_new == PyBaseObject_Type.tp_new && type->tp_alloc == PyType_GenericAlloc;
    for (int i = 0; i < count; i++) {
        PyObject *descr = usable ? PyDict_GetItemWithError(type->tp_dict, names[i]) : NULL;  /* borrowed */
        if (descr == NULL && PyErr_Occurred())
            return -1;
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX)
            usable = 0;
        else
            offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    if (!usable)
        memset(offsets, 0, count * sizeof(Py_ssize_t));
    return usable;
}

static int
message_slots(PyTypeObject *type)
{
    if (type == message_type)
        return message_offsets[0] != 0;
    PyObject *names[4] = {str_command, str_params, str_source, str_tags};
    Py_ssize_t offsets[4] = {0, 0, 0, 0};
    int usable = slot_offsets(type, names, 4, offsets);
    if (usable < 0)
        return -1;
    Py_INCREF(type);
    Py_XSETREF(message_type, type);
    memcpy(message_offsets, offsets, sizeof(offsets));
    return usable;
}

/* type(command, params, source, tags): a new reference; the four are borrowed. */
static PyObject *
make_message(PyObject *type, PyObject *command, PyObject *params, PyObject *source, PyObject *tags)
{
    int usable = PyType_CheckExact(type) ? message_slots((PyTypeObject *)type) : 0;
    if (usable < 0)
        return NULL;
    if (!usable) {
        PyObject *margs[4] = {command, params, source, tags};
        return PyObject_Vectorcall(type, margs, 4, NULL);
    }
    PyTypeObject *cls = (PyTypeObject *)type;
    PyObject *message = cls->tp_alloc(cls, 0);
    if (message == NULL)
        return NULL;
    PyObject *values[4] = {command, params, source, tags};
    for (int i = 0; i < 4; i++)
        *(PyObject **)((char *)message + message_offsets[i]) = Py_NewRef(values[i]);
    return message;
}

/* message(type, command, params, source=None, tags=None): `type(command, params,
 * source, tags or {})` for Message, made as make_message makes it. */
static PyObject *
message(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 5) {
        PyErr_SetString(PyExc_TypeError, "message(type, command, params, source=None, tags=None)");
        return NULL;
    }
    PyObject *source = nargs > 3 ? args[3] : Py_None;
    PyObject *tags = nargs > 4 ? args[4] : Py_None;
    if (tags == Py_None) {
        tags = PyDict_New();
        if (tags == NULL)
            return NULL;
    }
    else
        Py_INCREF(tags);
    PyObject *made = make_message(args[0], args[1], args[2], source, tags);
    Py_DECREF(tags);
    return made;
}

/* parse_common(raw, factory): the received line `COMMAND target :text` (without its line
 * ending) as irc/message.py's parse reads it from raw.decode(): factory(command,
 * [target, text], None, {}). None for every other line: tags or a source, no `:text`,
 * a target with a space or starting with ':', a command of anything but A-Z, CR, LF
 * or NUL anywhere, UTF-8 that does not decode strictly. Those take the Python way,
 * which stays the reference (tests compare the two on generated lines). Only the
 * bytes of `raw` are read, each index checked against its length. */
static PyObject *
parse_common(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_common(raw: bytes, factory)");
        return NULL;
    }
    const char *s = PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]), i = 0;
    while (i < n && s[i] >= 'A' && s[i] <= 'Z')
        i++;
    Py_ssize_t command_end = i;
    if (command_end == 0 || i >= n || s[i] != ' ')
        Py_RETURN_NONE;
    Py_ssize_t target_start = ++i;
    if (i >= n || s[i] == ':')
        Py_RETURN_NONE;
    while (i < n && s[i] != ' ') {
        if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
            Py_RETURN_NONE;
        i++;
    }
    Py_ssize_t target_end = i;
    if (target_end == target_start || i + 1 >= n || s[i + 1] != ':')
        Py_RETURN_NONE;
    Py_ssize_t text_start = i + 2;
    for (i = text_start; i < n; i++)
        if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
            Py_RETURN_NONE;
    /* the two commands nearly every such line has, as the interned names the code compares
     * with and COMMANDS is keyed by: no new string, and no hash of it to compute */
    PyObject *command;
    if (command_end == 7 && memcmp(s, "PRIVMSG", 7) == 0)
        command = Py_NewRef(str_privmsg);
    else if (command_end == 6 && memcmp(s, "NOTICE", 6) == 0)
        command = Py_NewRef(str_notice);
    else if ((command = PyUnicode_DecodeASCII(s, command_end, "strict")) == NULL)
        return NULL;
    PyObject *target = PyUnicode_DecodeUTF8(s + target_start, target_end - target_start, "strict");
    PyObject *text = target == NULL ? NULL : PyUnicode_DecodeUTF8(s + text_start, n - text_start, "strict");
    if (text == NULL) {
        Py_DECREF(command);
        Py_XDECREF(target);
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            return NULL;
        PyErr_Clear();  /* not UTF-8: the Python way answers it */
        Py_RETURN_NONE;
    }
    PyObject *params = PyList_New(2), *tags = PyDict_New();
    if (params == NULL || tags == NULL) {
        Py_DECREF(command);
        Py_DECREF(target);
        Py_DECREF(text);
        Py_XDECREF(params);
        Py_XDECREF(tags);
        return NULL;
    }
    PyList_SET_ITEM(params, 0, target);
    PyList_SET_ITEM(params, 1, text);
    PyObject *message = make_message(args[1], command, params, Py_None, tags);
    Py_DECREF(command);
    Py_DECREF(params);
    Py_DECREF(tags);
    return message;
}

#define ENCODE_MAX_PARAMS 16
#define ENCODE_MAX_BYTES 512   /* irc/message.py's MAX_LINE_BYTES: a longer line is cut there */


/* The UTF-8 of a str, or NULL with no exception set when it has none (lone surrogates,
 * which the Python way replaces) or is not exactly a str. A str that is not ASCII keeps
 * its UTF-8 beside it from then on (CPython's cache), as long as it lives: a message's
 * text, which goes with its event, and names, which are short. */
static const char *
utf8_of(PyObject *text, Py_ssize_t *size)
{
    if (!PyUnicode_CheckExact(text))  /* a subclass may format itself otherwise: the Python way */
        return NULL;
    const char *data = PyUnicode_AsUTF8AndSize(text, size);
    if (data == NULL)
        PyErr_Clear();
    return data;
}

/* Bytes a tag value takes once escaped (message-tags: ; space \ CR LF), and writing it. */
static Py_ssize_t
escaped_size(const char *v, Py_ssize_t n)
{
    Py_ssize_t size = n;
    for (Py_ssize_t i = 0; i < n; i++)
        if (v[i] == ';' || v[i] == ' ' || v[i] == '\\' || v[i] == '\r' || v[i] == '\n')
            size++;
    return size;
}

static char *
escape_into(char *out, const char *v, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = v[i];
        switch (c) {
        case ';': *out++ = '\\'; *out++ = ':'; break;
        case ' ': *out++ = '\\'; *out++ = 's'; break;
        case '\\': *out++ = '\\'; *out++ = '\\'; break;
        case '\r': *out++ = '\\'; *out++ = 'r'; break;
        case '\n': *out++ = '\\'; *out++ = 'n'; break;
        default: *out++ = c;
        }
    }
    return out;
}

static int
all_digits(const char *s, Py_ssize_t n)
{
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* encode(message, text_only, text_last): Message.encode's bytes (irc/message.py), for
 * the message whose line fits in 512 bytes and can be sent as it is. None whenever the
 * Python way has more to do (a line to cut, no parameters, a value that is not a str,
 * a middle parameter that cannot be one, CR, LF or NUL, a lone surrogate): it stays
 * the reference, and raises or cuts exactly as before. */
static SlotCache command_slot = {&str_command, NULL, 0, 0};
static SlotCache params_slot = {&str_params, NULL, 0, 0};
static SlotCache source_slot = {&str_source, NULL, 0, 0};
static SlotCache tags_slot = {&str_tags, NULL, 0, 0};

static PyObject *
encode_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyAnySet_Check(args[0]) || !PyAnySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "encode(text_only: frozenset, text_last: frozenset, message)");
        return NULL;
    }
    PyObject *text_only = args[0], *text_last = args[1], *message = args[2], *result = NULL;
    PyObject *command = slot_get(&command_slot, message);
    PyObject *params = command == NULL ? NULL : slot_get(&params_slot, message);
    PyObject *source = params == NULL ? NULL : slot_get(&source_slot, message);
    PyObject *tags = source == NULL ? NULL : slot_get(&tags_slot, message);
    if (tags == NULL)
        goto done;
    if (!PyUnicode_CheckExact(command) || !PyList_CheckExact(params) || !PyDict_CheckExact(tags)
        || (source != Py_None && !PyUnicode_CheckExact(source)))
        goto fallback;
    Py_ssize_t count = PyList_GET_SIZE(params);
    if (count == 0 || count > ENCODE_MAX_PARAMS)
        goto fallback;
    const char *param_text[ENCODE_MAX_PARAMS];
    Py_ssize_t param_size[ENCODE_MAX_PARAMS];
    Py_ssize_t command_size, source_size = 0, total;
    const char *command_text = utf8_of(command, &command_size), *source_text = NULL;
    if (command_text == NULL || !PyUnicode_IS_ASCII(command))
        goto fallback;  /* str.isdigit() knows other digits than 0-9: left to the Python way */
    if (source != Py_None) {
        source_text = utf8_of(source, &source_size);
        if (source_text == NULL)
            goto fallback;
    }
    total = command_size + 2;  /* CRLF */
    if (source_size)
        total += source_size + 2;  /* ":source " */
    for (Py_ssize_t i = 0; i < count; i++) {
        param_text[i] = utf8_of(PyList_GET_ITEM(params, i), &param_size[i]);
        if (param_text[i] == NULL)
            goto fallback;
        if (i < count - 1 && (param_size[i] == 0 || param_text[i][0] == ':'
                              || memchr(param_text[i], ' ', param_size[i]) != NULL))
            goto fallback;  /* not a middle parameter: the Python way raises */
        total += param_size[i] + 1;
    }
    const char *last = param_text[count - 1];
    Py_ssize_t last_size = param_size[count - 1];
    int contains, colon = last_size == 0 || last[0] == ':' || memchr(last, ' ', last_size) != NULL;
    if (!colon) {
        if ((contains = PySet_Contains(text_only, command)) < 0)
            goto done;
        colon = contains;
    }
    if (!colon && count > 1) {
        if ((contains = PySet_Contains(text_last, command)) < 0)
            goto done;
        colon = contains || all_digits(command_text, command_size);
    }
    if (!colon && source_size && PyUnicode_Compare(command, str_nick) == 0)
        colon = 1;
    total += colon;
    Py_ssize_t tag_count = PyDict_GET_SIZE(tags);
    if (tag_count) {
        PyObject *key, *value;
        Py_ssize_t pos = 0, size;
        total += 1;  /* '@'; then each tag and its ';', the last one's a space */
        while (PyDict_Next(tags, &pos, &key, &value)) {
            const char *text = utf8_of(key, &size);
            if (text == NULL)
                goto fallback;
            total += size + 1;
            text = utf8_of(value, &size);
            if (text == NULL)
                goto fallback;
            if (size)
                total += 1 + escaped_size(text, size);
        }
    }
    if (total > ENCODE_MAX_BYTES)
        goto fallback;  /* to be cut, or a tagged line within its limits: the Python way */
    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(result), *start = out;
    if (tag_count) {
        PyObject *key, *value;
        Py_ssize_t pos = 0, size;
        *out++ = '@';
        while (PyDict_Next(tags, &pos, &key, &value)) {
            const char *text = utf8_of(key, &size);
            memcpy(out, text, size);
            out += size;
            text = utf8_of(value, &size);
            if (size) {
                *out++ = '=';
                out = escape_into(out, text, size);
            }
            *out++ = ';';
        }
        out[-1] = ' ';
    }
    if (source_size) {
        *out++ = ':';
        memcpy(out, source_text, source_size);
        out += source_size;
        *out++ = ' ';
    }
    memcpy(out, command_text, command_size);
    out += command_size;
    for (Py_ssize_t i = 0; i < count; i++) {
        *out++ = ' ';
        if (i == count - 1 && colon)
            *out++ = ':';
        memcpy(out, param_text[i], param_size[i]);
        out += param_size[i];
    }
    *out++ = '\r';
    *out++ = '\n';
    if (out - start != total) {  /* the dictionary changed under us: cannot happen without Python code */
        Py_CLEAR(result);
        goto fallback;
    }
    size_t body = (size_t)(out - 2 - start);  /* one memchr a character: libc's are vectorized */
    if (memchr(start, '\r', body) != NULL || memchr(start, '\n', body) != NULL || memchr(start, '\0', body) != NULL) {
        Py_CLEAR(result);  /* would split the line: the Python way raises */
        goto fallback;
    }
    goto done;
fallback:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(command);
    Py_XDECREF(params);
    Py_XDECREF(source);
    Py_XDECREF(tags);
    return result;
}

/* -- reading a socket ---------------------------------------------------------------- */

/* read(fd, size): os.read(fd, size) for the non-blocking socket of a plain connection
 * (transport/sockets.py reads every line a client sends with it), without what os.read
 * spends around a read that cannot block: the GIL released and taken back (mutexes, and
 * a wake for any other thread waiting for it) and a buffer of `size` allocated, then
 * shrunk to what came, for every read. Here the bytes land in one static buffer (the
 * GIL is held: one reader at a time) and are copied out at their length. At most
 * READ_MAX bytes a call (a short read, as any read may be). Errors as os.read raises
 * them (BlockingIOError, InterruptedError, ConnectionResetError...). */
#define READ_MAX 65536
static char read_buffer[READ_MAX];

static PyObject *
read_fd(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyLong_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "read(fd: int, size: int)");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t size = PyLong_AsSsize_t(args[1]);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    if (size < 0 || fd < 0 || fd > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, size < 0 ? "negative size" : "bad file descriptor");
        return NULL;
    }
    ssize_t got = read((int)fd, read_buffer, size < READ_MAX ? (size_t)size : READ_MAX);
    if (got < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyBytes_FromStringAndSize(read_buffer, got);
}

/* new_tuple(cls, fields): tuple.__new__(cls, fields) for an exact tuple of fields, as a
 * NamedTuple's own __new__ makes one, without its Python frame. Every message is one
 * (server/events.py's new_said): tuple.__new__, a slot wrapper, cannot be called by
 * vectorcall, so a partial of it copies its arguments into a new tuple at each call,
 * and tuple.__new__ copies the fields into one more before the instance; here they are
 * copied once, into the instance. The first time a class comes (or once it changed),
 * tuple.__new__ itself makes the instance, and so checks that the class may be made
 * that way (not time.struct_time, whose hidden fields only its own __new__ fills);
 * the class it accepted is remembered. */
static PyTypeObject *tuple_class;  /* strong reference: the last class tuple.__new__ made */
static unsigned int tuple_class_version;

static PyObject *
new_tuple(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyType_Check(args[0]) || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "new_tuple(cls, fields): a class, and a tuple");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    PyObject *fields = args[1];
    if (type != tuple_class || type->tp_version_tag != tuple_class_version || tuple_class_version == 0) {
        PyObject *made = PyObject_CallMethod((PyObject *)&PyTuple_Type, "__new__", "OO", type, fields);
        if (made == NULL || !PyTuple_Check(made) || Py_IS_TYPE(made, &PyTuple_Type))
            return made;  /* refused; or tuple's own, or what some other __new__ made: as it is */
        Py_INCREF(type);
        Py_XSETREF(tuple_class, type);
        tuple_class_version = type->tp_version_tag;
        return made;
    }
    Py_ssize_t size = PyTuple_GET_SIZE(fields);
    PyObject *made = type->tp_alloc(type, size);
    if (made == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < size; i++)
        PyTuple_SET_ITEM(made, i, Py_NewRef(PyTuple_GET_ITEM(fields, i)));
    if (!PyObject_GC_IsTracked(made))  /* as tuple.__new__: tracked whatever tp_alloc did */
        PyObject_GC_Track(made);
    return made;
}

static PyMethodDef module_methods[] = {
    {"read", (PyCFunction)(void (*)(void))read_fd, METH_FASTCALL,
     "read(fd, size): os.read for a descriptor that cannot block, the GIL kept."},
    {"take_each", (PyCFunction)take_each, METH_O, "take_each(queues): what each queue collected, taken."},
    {"send_each", (PyCFunction)(void (*)(void))send_each, METH_FASTCALL,
     "send_each(queues, data, failed): what take_each took, written."},
    {"flush_each", (PyCFunction)(void (*)(void))flush_each, METH_FASTCALL,
     "flush_each(queues, failed): the flusher's loop."},
    {"casefold", (PyCFunction)casefold, METH_O, "casefold(name): CASEMAPPING=ascii's key."},
    {"message", (PyCFunction)(void (*)(void))message, METH_FASTCALL,
     "message(type, command, params, source=None, tags=None): a Message, made without its __init__."},
    {"outgoing_class", (PyCFunction)(void (*)(void))outgoing_class, METH_FASTCALL,
     "outgoing_class(type, encode, form_bits): the class outgoing makes; True when made without __init__."},
    {"outgoing", (PyCFunction)(void (*)(void))outgoing, METH_FASTCALL,
     "outgoing(message, time, msgid, client_tags=None, account=None, bot=False): an Outgoing, made without its __init__."},
    {"new_tuple", (PyCFunction)(void (*)(void))new_tuple, METH_FASTCALL,
     "new_tuple(cls, fields): tuple.__new__(cls, fields), for a tuple of fields."},
    {"deliver", (PyCFunction)(void (*)(void))deliver, METH_FASTCALL,
     "deliver(local, skip, out): announce.to_members's loop."},
    {"deliver_one", (PyCFunction)(void (*)(void))deliver_one, METH_FASTCALL,
     "deliver_one(conn, out): conn.deliver(out), as deliver writes one member's copy."},
    {"parse_common", (PyCFunction)(void (*)(void))parse_common, METH_FASTCALL,
     "parse_common(raw, factory): the line `COMMAND target :text` read, or None."},
    {"encode", (PyCFunction)(void (*)(void))encode_message, METH_FASTCALL,
     "encode(text_only, text_last, message): Message.encode's bytes, or None."},
    {NULL}
};

static int
intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

static int
module_exec(PyObject *module)
{
    if (find_mask_ints() < 0 || PyModule_AddIntConstant(module, "MASKS_BY_ADDRESS", masks_in_a_row) < 0)
        return -1;
    if (intern(&str_write, "write") < 0
        || intern(&str_pending, "get_write_buffer_size") < 0 || intern(&str_abort, "abort") < 0
        || intern(&str_exceeded, "sendq_exceeded") < 0 || intern(&str_fast, "fast") < 0
        || intern(&str_tag_mask, "tag_mask") < 0 || intern(&str_deliver, "deliver") < 0
        || intern(&str_irc_bytes, "irc_bytes") < 0 || intern(&str_marked, "marked") < 0
        || intern(&str_flush, "flush") < 0 || intern(&str_take, "take") < 0 || intern(&str_send, "send") < 0
        || intern(&str_command, "command") < 0 || intern(&str_params, "params") < 0
        || intern(&str_source, "source") < 0 || intern(&str_tags, "tags") < 0 || intern(&str_nick, "NICK") < 0
        || intern(&str_clock_us, "clock_us") < 0 || intern(&str_scheduled, "_scheduled") < 0
        || intern(&str_schedule, "_schedule") < 0 || intern(&str_privmsg, "PRIVMSG") < 0
        || intern(&str_notice, "NOTICE") < 0)
        return -1;
    empty_bytes = PyBytes_FromStringAndSize(NULL, 0);
    if (empty_bytes == NULL)
        return -1;
    PyObject *type = PyType_FromModuleAndSpec(module, &queue_spec, NULL);
    if (type == NULL)
        return -1;
    if (PyModule_AddObject(module, "OutputQueue", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    queue_type = (PyTypeObject *)type;
    type = PyType_FromModuleAndSpec(module, &framer_spec, NULL);
    if (type == NULL)
        return -1;
    if (PyModule_AddObject(module, "LineBuffer", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    type = PyType_FromModuleAndSpec(module, &time_order_spec, NULL);
    if (type == NULL)
        return -1;
    if (PyModule_AddObject(module, "TimeOrder", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    type = PyType_FromModuleAndSpec(module, &msgids_spec, NULL);
    if (type == NULL)
        return -1;
    if (PyModule_AddObject(module, "MsgIds", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
#ifdef HUBBUB_SOURCE_SHA256
    /* the source this was built from (setup.py): hubbub/speedups.py refuses a stale build */
    if (PyModule_AddStringConstant(module, "SOURCE_SHA256", HUBBUB_SOURCE_SHA256) < 0)
        return -1;
#endif
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hubbub._speedups",
    .m_doc = "The per-delivery path, compiled (see hubbub/_speedups.c).",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
