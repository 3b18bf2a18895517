module hb/gohttp

go 1.19
