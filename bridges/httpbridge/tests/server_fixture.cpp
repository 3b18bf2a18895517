#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <exception>

namespace hbtest
{

hb_options test_options()
{
    hb_options o;
    hb_options_init(&o);
    o.read_timeout_ms = 5000;
    o.idle_timeout_ms = 5000;
    o.drain_timeout_ms = 1000;
    return o;
}

std::string str(hb_str s)
{
    return s.len == 0 ? std::string() : std::string(s.data, s.len);
}

SeenRequest copy(const hb_request &req)
{
    SeenRequest s;
    s.method = str(req.method);
    s.target = str(req.target);
    s.path = str(req.path);
    s.query = str(req.query);
    s.host = str(req.host);
    s.remote_addr = str(req.remote_addr);
    s.body = str(req.body);
    for (std::size_t i = 0; i < req.header_count; ++i)
        s.headers.emplace_back(str(req.headers[i].name), str(req.headers[i].value));
    s.version = req.version;
    s.keep_alive = req.keep_alive;
    return s;
}

void Recorder::add(const hb_request &req)
{
    SeenRequest s = copy(req);
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back(std::move(s));
}

std::vector<SeenRequest> Recorder::all()
{
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
}

SeenRequest Recorder::last()
{
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.empty() ? SeenRequest{} : seen_.back();
}

TestServer::TestServer(const hb_options &options)
{
    int rc = hb_server_create(&options, &srv_);
    if (rc != HB_OK)
        ADD_FAILURE() << "hb_server_create: " << hb_strerror(rc);
}

TestServer::~TestServer()
{
    if (srv_ == nullptr)
        return;
    hb_server_stop(srv_);
    EXPECT_EQ(hb_server_wait(srv_, 10000), HB_OK) << "server did not drain";
    hb_server_free(srv_);
}

void TestServer::route(const char *pattern, Handler handler)
{
    handlers_.push_back(std::move(handler));
    int rc = hb_server_handle(srv_, pattern, &TestServer::trampoline, &handlers_.back());
    if (rc != HB_OK)
        ADD_FAILURE() << "hb_server_handle(" << pattern << "): " << hb_strerror(rc);
}

void TestServer::start()
{
    int rc = hb_server_listen(srv_, "127.0.0.1", 0);
    ASSERT_EQ(rc, HB_OK) << hb_strerror(rc);
    port_ = hb_server_port(srv_);
    ASSERT_GT(port_, 0);
    rc = hb_server_start(srv_);
    ASSERT_EQ(rc, HB_OK) << hb_strerror(rc);
}

int TestServer::probe(const std::string &path) const
{
    Client c = connect();
    auto r = c.request(get(path));
    return r ? r->status : 0;
}

int TestServer::trampoline(hb_response res, const hb_request *req, void *user_data)
{
    try {
        return (*static_cast<Handler *>(user_data))(res, *req);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "test handler threw: %s\n", e.what());
        return -1;
    }
}

void Latch::open()
{
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
}

void Latch::wait()
{
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
}

bool Latch::wait_for(int timeout_ms)
{
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return open_; });
}

} // namespace hbtest
