# Go builds: Debian's Go toolchain and the standard library only.
find_program(HB_GO_EXECUTABLE go)

# hb_go_build(OUTPUT file [EXTRA_OUTPUTS files...] SOURCE_DIR dir DEPENDS files...
#             [CGO] [COMMENT text] [ARGS go-build-args...])
# Runs `go build ARGS -o OUTPUT .` in SOURCE_DIR. The caches live in the build
# tree, so any user (root, CI, a developer without a writable $HOME) can
# build, and GOPROXY=off proves that nothing is downloaded.
function(hb_go_build)
  cmake_parse_arguments(GO "CGO" "OUTPUT;SOURCE_DIR;COMMENT" "EXTRA_OUTPUTS;DEPENDS;ARGS" ${ARGN})
  if(GO_CGO)
    set(cgo CGO_ENABLED=1 "CC=${CMAKE_C_COMPILER}")
  else()
    set(cgo CGO_ENABLED=0)
  endif()
  add_custom_command(
    OUTPUT "${GO_OUTPUT}" ${GO_EXTRA_OUTPUTS}
    COMMAND "${CMAKE_COMMAND}" -E env
            "GOCACHE=${CMAKE_BINARY_DIR}/go/cache" "GOPATH=${CMAKE_BINARY_DIR}/go/path"
            GOPROXY=off GOFLAGS= ${cgo}
            "${HB_GO_EXECUTABLE}" build -trimpath -buildvcs=false ${GO_ARGS} -o "${GO_OUTPUT}" .
    WORKING_DIRECTORY "${GO_SOURCE_DIR}"
    DEPENDS ${GO_DEPENDS}
    COMMENT "${GO_COMMENT}"
    VERBATIM)
endfunction()
