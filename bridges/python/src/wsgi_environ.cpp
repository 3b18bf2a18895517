// The WSGI environ, built from the request view in one pass with the GIL held.
//
// What keeps it cheap: the server-wide keys come from a template dict copied
// in one call (PyDict_Copy clones the table); every key is an interned str;
// the common header names map to their CGI keys through a table instead of
// being upper-cased per request; and header values that repeat from request
// to request (Host, User-Agent, Accept...) reuse the str made last time.
#include "wsgi.hpp"

#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

namespace hbpy
{
namespace
{

PyObject *k_request_method, *k_path_info, *k_query_string, *k_server_protocol, *k_remote_addr, *k_remote_port,
    *k_content_type, *k_content_length, *k_wsgi_input;
PyObject *v_http10, *v_http11, *v_slash, *v_empty, *v_comma, *v_semicolon;

constexpr const char *kMethodNames[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"};
constexpr int kMethodCount = sizeof kMethodNames / sizeof kMethodNames[0];
PyObject *v_methods[kMethodCount];

// The headers most requests carry, lower case, and the key each becomes.
// Content-Type and Content-Length have keys of their own (no HTTP_ copy).
struct KnownHeader {
    const char *name;
    const char *key;
};
constexpr KnownHeader kKnown[] = {
    {"host", "HTTP_HOST"},
    {"user-agent", "HTTP_USER_AGENT"},
    {"accept", "HTTP_ACCEPT"},
    {"accept-encoding", "HTTP_ACCEPT_ENCODING"},
    {"accept-language", "HTTP_ACCEPT_LANGUAGE"},
    {"connection", "HTTP_CONNECTION"},
    {"cookie", "HTTP_COOKIE"},
    {"content-type", "CONTENT_TYPE"},
    {"content-length", "CONTENT_LENGTH"},
    {"transfer-encoding", "HTTP_TRANSFER_ENCODING"},
    {"referer", "HTTP_REFERER"},
    {"origin", "HTTP_ORIGIN"},
    {"cache-control", "HTTP_CACHE_CONTROL"},
    {"pragma", "HTTP_PRAGMA"},
    {"authorization", "HTTP_AUTHORIZATION"},
    {"expect", "HTTP_EXPECT"},
    {"range", "HTTP_RANGE"},
    {"if-none-match", "HTTP_IF_NONE_MATCH"},
    {"if-modified-since", "HTTP_IF_MODIFIED_SINCE"},
    {"upgrade-insecure-requests", "HTTP_UPGRADE_INSECURE_REQUESTS"},
    {"x-forwarded-for", "HTTP_X_FORWARDED_FOR"},
    {"x-forwarded-proto", "HTTP_X_FORWARDED_PROTO"},
    {"x-forwarded-host", "HTTP_X_FORWARDED_HOST"},
    {"x-real-ip", "HTTP_X_REAL_IP"},
    {"x-request-id", "HTTP_X_REQUEST_ID"},
    {"x-requested-with", "HTTP_X_REQUESTED_WITH"},
    {"sec-fetch-site", "HTTP_SEC_FETCH_SITE"},
    {"sec-fetch-mode", "HTTP_SEC_FETCH_MODE"},
    {"sec-fetch-dest", "HTTP_SEC_FETCH_DEST"},
    {"dnt", "HTTP_DNT"},
};
constexpr int kKnownCount = sizeof kKnown / sizeof kKnown[0];

// Per known header: its key, and the value seen last time with the str made for it.
struct KnownState {
    PyObject *key = nullptr;
    std::string last;
    PyObject *last_obj = nullptr;
};
KnownState g_known[kKnownCount];
constexpr int kCookie = 6, kContentLength = 8; // indexes in g_known
static_assert(kKnownCount <= 64, "seen-headers mask is 64 bits");

char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

int known_index(hb_str name)
{
    for (int i = 0; i < kKnownCount; ++i) {
        const char *k = kKnown[i].name;
        std::size_t n = std::strlen(k);
        if (n != name.len || lower(name.data[0]) != k[0])
            continue;
        std::size_t j = 1;
        while (j < n && lower(name.data[j]) == k[j])
            ++j;
        if (j == n)
            return i;
    }
    return -1;
}

PyObject *latin1(const char *data, std::size_t len)
{
    return PyUnicode_DecodeLatin1(len ? data : "", static_cast<Py_ssize_t>(len), nullptr);
}

PyObject *latin1(hb_str s)
{
    return latin1(s.data, s.len);
}

PyObject *intern(const char *s)
{
    return PyUnicode_InternFromString(s);
}

// The value of a known header as str, reusing last time's when the bytes match.
PyObject *known_value(KnownState &h, hb_str value)
{
    if (h.last_obj != nullptr && h.last.size() == value.len &&
        (value.len == 0 || std::memcmp(h.last.data(), value.data, value.len) == 0)) {
        Py_INCREF(h.last_obj);
        return h.last_obj;
    }
    PyObject *obj = latin1(value);
    if (obj == nullptr)
        return nullptr;
    if (value.len <= 1024) { // long values (cookies, tokens) are rarely the same twice
        Py_XSETREF(h.last_obj, Py_NewRef(obj));
        h.last.assign(value.len ? value.data : "", value.len);
    }
    return obj;
}

// "HTTP_" + the name upper-cased with '-' as '_'; nullptr (no error) for a
// name with '_' in it, which is dropped: "X_Forwarded_For" must not pass for
// "X-Forwarded-For" (nginx and Apache drop them too).
PyObject *cgi_key(hb_str name, bool *dropped)
{
    thread_local std::string key;
    key.assign("HTTP_");
    for (std::size_t i = 0; i < name.len; ++i) {
        char c = name.data[i];
        if (c == '_') {
            *dropped = true;
            return nullptr;
        }
        key.push_back(c == '-' ? '_' : (c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c));
    }
    return latin1(key.data(), key.size());
}

// A repeated header: the values joined, as one field (RFC 9110 5.3); Cookie
// with "; " as HTTP/2 does, so cookie parsers see one list.
bool join_value(PyObject *environ, PyObject *key, PyObject *value, bool cookie)
{
    PyObject *old = PyDict_GetItemWithError(environ, key); // borrowed
    if (old == nullptr)
        return !PyErr_Occurred() && PyDict_SetItem(environ, key, value) == 0;
    PyObject *pair = PyTuple_Pack(2, old, value);
    PyObject *joined = pair ? PyUnicode_Join(cookie ? v_semicolon : v_comma, pair) : nullptr;
    Py_XDECREF(pair);
    bool ok = joined != nullptr && PyDict_SetItem(environ, key, joined) == 0;
    Py_XDECREF(joined);
    return ok;
}

// Set environ[key] = value and drop the reference to value.
bool set_steal(PyObject *environ, PyObject *key, PyObject *value)
{
    if (value == nullptr)
        return false;
    int rc = PyDict_SetItem(environ, key, value);
    Py_DECREF(value);
    return rc == 0;
}

PyObject *method_value(hb_str m)
{
    for (int i = 0; i < kMethodCount; ++i) {
        std::string_view name = kMethodNames[i];
        if (m.len == name.size() && std::memcmp(m.data, name.data(), name.size()) == 0)
            return Py_NewRef(v_methods[i]);
    }
    return latin1(m);
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// PATH_INFO: the path percent-decoded (PEP 3333 via CGI), bytes as latin-1.
// An absolute-form target ("http://host/p") contributes its path only.
PyObject *path_info(hb_str path)
{
    std::string_view p(path.len ? path.data : "", path.len);
    if (p.size() > 7 && p.front() != '/') {
        std::size_t scheme = p.find("://");
        if (scheme != std::string_view::npos) {
            std::size_t slash = p.find('/', scheme + 3);
            p = slash == std::string_view::npos ? std::string_view("/") : p.substr(slash);
        }
    }
    if (p == "/")
        return Py_NewRef(v_slash);
    if (p.find('%') == std::string_view::npos)
        return latin1(p.data(), p.size());
    thread_local std::string decoded;
    decoded.clear();
    for (std::size_t i = 0; i < p.size(); ++i) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < p.size() && (hi = hex_digit(p[i + 1])) >= 0 &&
            (lo = hex_digit(p[i + 2])) >= 0) {
            decoded.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            decoded.push_back(p[i]); // a lone '%' stays as it came
        }
    }
    return latin1(decoded.data(), decoded.size());
}

// REMOTE_ADDR and REMOTE_PORT from "ip:port" or "[ip6]:port". The address is
// kept from the last request: clients come back.
bool set_remote(PyObject *environ, hb_str remote)
{
    static std::string last_addr;
    static PyObject *last_addr_obj = nullptr;
    std::string_view r(remote.len ? remote.data : "", remote.len);
    std::size_t colon = r.rfind(':');
    std::string_view addr = colon == std::string_view::npos ? r : r.substr(0, colon);
    std::string_view port = colon == std::string_view::npos ? std::string_view() : r.substr(colon + 1);
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']')
        addr = addr.substr(1, addr.size() - 2);
    if (last_addr_obj == nullptr || addr != last_addr) {
        PyObject *obj = latin1(addr.data(), addr.size());
        if (obj == nullptr)
            return false;
        Py_XSETREF(last_addr_obj, obj);
        last_addr.assign(addr);
    }
    return PyDict_SetItem(environ, k_remote_addr, last_addr_obj) == 0 &&
           set_steal(environ, k_remote_port, latin1(port.data(), port.size()));
}

bool set_headers(PyObject *environ, const hb_request &req)
{
    std::uint64_t seen = 0; // known headers already set: a repeat is joined
    bool has_length = false;
    for (std::size_t i = 0; i < req.header_count; ++i) {
        const hb_header &h = req.headers[i];
        if (h.name.len == 0)
            continue;
        int k = known_index(h.name);
        if (k == kContentLength) {
            has_length = true; // the value is the body's length, set below
            continue;
        }
        if (k >= 0) {
            PyObject *value = known_value(g_known[k], h.value);
            if (value == nullptr)
                return false;
            bool ok = (seen >> k & 1) ? join_value(environ, g_known[k].key, value, k == kCookie)
                                      : PyDict_SetItem(environ, g_known[k].key, value) == 0;
            Py_DECREF(value);
            if (!ok)
                return false;
            seen |= std::uint64_t(1) << k;
            continue;
        }
        bool dropped = false;
        PyObject *key = cgi_key(h.name, &dropped);
        if (key == nullptr) {
            if (dropped)
                continue;
            return false;
        }
        PyObject *value = latin1(h.value);
        bool ok = value != nullptr && join_value(environ, key, value, false);
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (!ok)
            return false;
    }
    // The body is whole and de-chunked by now, so its length is known even for
    // a chunked request: apps that read CONTENT_LENGTH bytes (Django) get it all.
    if (has_length || req.body.len != 0) {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, req.body.len).ptr;
        if (!set_steal(environ, k_content_length, latin1(digits, static_cast<std::size_t>(end - digits))))
            return false;
    }
    return true;
}

} // namespace

WsgiApp::~WsgiApp()
{
    Py_CLEAR(app);
    Py_CLEAR(environ_template);
}

bool init_environ()
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&k_request_method, "REQUEST_METHOD"},
        {&k_path_info, "PATH_INFO"},
        {&k_query_string, "QUERY_STRING"},
        {&k_server_protocol, "SERVER_PROTOCOL"},
        {&k_remote_addr, "REMOTE_ADDR"},
        {&k_remote_port, "REMOTE_PORT"},
        {&k_content_type, "CONTENT_TYPE"},
        {&k_content_length, "CONTENT_LENGTH"},
        {&k_wsgi_input, "wsgi.input"},
        {&v_http10, "HTTP/1.0"},
        {&v_http11, "HTTP/1.1"},
        {&v_slash, "/"},
        {&v_empty, ""},
        {&v_comma, ", "},
        {&v_semicolon, "; "},
    };
    for (auto &n : names)
        if ((*n.slot = intern(n.text)) == nullptr)
            return false;
    for (int i = 0; i < kMethodCount; ++i)
        if ((v_methods[i] = intern(kMethodNames[i])) == nullptr)
            return false;
    for (int i = 0; i < kKnownCount; ++i)
        if ((g_known[i].key = intern(kKnown[i].key)) == nullptr)
            return false;
    return true;
}

PyObject *make_environ_template(PyObject *base)
{
    if (!PyDict_Check(base)) {
        PyErr_SetString(PyExc_TypeError, "the base environ must be a dict");
        return nullptr;
    }
    PyObject *copy = PyDict_New();
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (copy != nullptr && PyDict_Next(base, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "environ keys must be str");
            Py_CLEAR(copy);
            break;
        }
        Py_INCREF(key);
        PyUnicode_InternInPlace(&key);
        if (PyDict_SetItem(copy, key, value) != 0)
            Py_CLEAR(copy);
        Py_DECREF(key);
    }
    if (copy != nullptr && PyDict_SetDefault(copy, k_query_string, v_empty) == nullptr)
        Py_CLEAR(copy); // QUERY_STRING is always there, '' unless the request has one
    return copy;
}

PyObject *build_environ(PyObject *environ_template, const hb_request &req, PyObject *input)
{
    PyObject *environ = PyDict_Copy(environ_template);
    if (environ == nullptr)
        return nullptr;
    bool ok = set_steal(environ, k_request_method, method_value(req.method)) &&
              set_steal(environ, k_path_info, path_info(req.path)) &&
              (req.query.len == 0 || set_steal(environ, k_query_string, latin1(req.query))) &&
              PyDict_SetItem(environ, k_server_protocol, req.version >= 11 ? v_http11 : v_http10) == 0 &&
              set_remote(environ, req.remote_addr) && set_headers(environ, req) &&
              PyDict_SetItem(environ, k_wsgi_input, input) == 0;
    if (!ok)
        Py_CLEAR(environ);
    return environ;
}

} // namespace hbpy
