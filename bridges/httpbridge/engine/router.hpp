// Path routing with the rules of Go's http.ServeMux: a pattern matches its exact
// path, or, when it ends in '/', every path under it; the longest match wins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hb::detail
{

template <class Route> class Router
{
public:
    // false when the pattern does not start with '/' or is already registered.
    bool add(std::string pattern, Route route)
    {
        if (pattern.empty() || pattern.front() != '/')
            return false;
        for (const auto &entry : entries_)
            if (entry.pattern == pattern)
                return false;
        // Longest first, so the first match is the longest.
        auto at = entries_.begin();
        while (at != entries_.end() && at->pattern.size() >= pattern.size())
            ++at;
        entries_.insert(at, Entry{std::move(pattern), std::move(route)});
        return true;
    }

    // The route for path, or nullptr (a 404).
    const Route *match(std::string_view path) const
    {
        for (const auto &entry : entries_) {
            std::string_view p = entry.pattern;
            if (p.back() == '/' ? path.substr(0, p.size()) == p : path == p)
                return &entry.route;
        }
        return nullptr;
    }

    bool empty() const { return entries_.empty(); }

private:
    struct Entry {
        std::string pattern;
        Route route;
    };
    std::vector<Entry> entries_;
};

} // namespace hb::detail
