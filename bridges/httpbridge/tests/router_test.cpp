// The router template alone: Go ServeMux rules, no server.
#include "router.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using Router = hb::detail::Router<std::string>;

// The pattern that path routes to, or "404".
std::string route(const Router &router, std::string_view path)
{
    const std::string *r = router.match(path);
    return r == nullptr ? "404" : *r;
}

Router make(std::initializer_list<const char *> patterns)
{
    Router router;
    for (const char *p : patterns)
        EXPECT_TRUE(router.add(p, p)) << p;
    return router;
}

TEST(Router, ExactPatternMatchesOnlyItsPath)
{
    Router r = make({"/hello"});
    EXPECT_EQ(route(r, "/hello"), "/hello");
    EXPECT_EQ(route(r, "/hello/"), "404");
    EXPECT_EQ(route(r, "/hello/x"), "404");
    EXPECT_EQ(route(r, "/hellox"), "404");
    EXPECT_EQ(route(r, "/hell"), "404");
    EXPECT_EQ(route(r, "/"), "404");
}

TEST(Router, TrailingSlashMatchesTheWholeSubtree)
{
    Router r = make({"/static/"});
    EXPECT_EQ(route(r, "/static/"), "/static/");
    EXPECT_EQ(route(r, "/static/a"), "/static/");
    EXPECT_EQ(route(r, "/static/a/b/c.txt"), "/static/");
    EXPECT_EQ(route(r, "/static"), "404"); // Go would redirect; we answer 404
    EXPECT_EQ(route(r, "/staticx"), "404");
}

TEST(Router, RootPatternMatchesEveryPath)
{
    Router r = make({"/"});
    EXPECT_EQ(route(r, "/"), "/");
    EXPECT_EQ(route(r, "/anything"), "/");
    EXPECT_EQ(route(r, "/a/b/c"), "/");
}

TEST(Router, LongestMatchWinsWhateverTheRegistrationOrder)
{
    for (bool reversed : {false, true}) {
        std::vector<const char *> patterns{"/", "/a/", "/a/b/", "/a/b/c"};
        if (reversed)
            std::reverse(patterns.begin(), patterns.end());
        Router r;
        for (const char *p : patterns)
            ASSERT_TRUE(r.add(p, p));
        SCOPED_TRACE(reversed ? "registered longest first" : "registered shortest first");
        EXPECT_EQ(route(r, "/x"), "/");
        EXPECT_EQ(route(r, "/a"), "/");
        EXPECT_EQ(route(r, "/a/"), "/a/");
        EXPECT_EQ(route(r, "/a/x"), "/a/");
        EXPECT_EQ(route(r, "/a/b/"), "/a/b/");
        EXPECT_EQ(route(r, "/a/b/x"), "/a/b/");
        EXPECT_EQ(route(r, "/a/b/c"), "/a/b/c");
        EXPECT_EQ(route(r, "/a/b/c/"), "/a/b/");
        EXPECT_EQ(route(r, "/a/b/cd"), "/a/b/");
    }
}

TEST(Router, ExactAndSubtreeOfEqualLengthDoNotShadowEachOther)
{
    Router r = make({"/ab", "/a/"});
    EXPECT_EQ(route(r, "/ab"), "/ab");
    EXPECT_EQ(route(r, "/a/"), "/a/");
    EXPECT_EQ(route(r, "/a/b"), "/a/");
    EXPECT_EQ(route(r, "/abc"), "404");
}

TEST(Router, ExactPatternBeatsAShorterSubtree)
{
    Router r = make({"/api/", "/api/health"});
    EXPECT_EQ(route(r, "/api/health"), "/api/health");
    EXPECT_EQ(route(r, "/api/healthz"), "/api/");
    EXPECT_EQ(route(r, "/api/users"), "/api/");
}

TEST(Router, NoMatchIsNull)
{
    Router empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_EQ(empty.match("/"), nullptr);

    Router r = make({"/a", "/b/"});
    EXPECT_FALSE(r.empty());
    EXPECT_EQ(r.match("/c"), nullptr);
    EXPECT_EQ(r.match(""), nullptr);
    EXPECT_EQ(r.match("a"), nullptr);
    EXPECT_EQ(r.match("b/"), nullptr);
}

TEST(Router, BadPatternsAreRefused)
{
    Router r;
    EXPECT_FALSE(r.add("", "empty"));
    EXPECT_FALSE(r.add("a", "relative"));
    EXPECT_FALSE(r.add("a/", "relative subtree"));
    EXPECT_FALSE(r.add("*", "star"));
    EXPECT_TRUE(r.empty());
}

TEST(Router, DuplicatePatternIsRefusedAndTheFirstKept)
{
    Router r;
    EXPECT_TRUE(r.add("/x", "first"));
    EXPECT_FALSE(r.add("/x", "second"));
    EXPECT_TRUE(r.add("/x/", "subtree is a different pattern"));
    EXPECT_EQ(route(r, "/x"), "first");
    EXPECT_EQ(route(r, "/x/y"), "subtree is a different pattern");
}

TEST(Router, PathIsComparedBytewise)
{
    Router r = make({"/Case"});
    EXPECT_EQ(route(r, "/Case"), "/Case");
    EXPECT_EQ(route(r, "/case"), "404");
    EXPECT_EQ(route(r, std::string_view("/Case\0x", 7)), "404");
}

} // namespace
