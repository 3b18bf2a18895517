module hbbench/cgo

go 1.19
