module hb/go-nethttp

go 1.19
