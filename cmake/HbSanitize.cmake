# Sanitizer builds, each in its own build directory, never edits to the main flags:
#   -DHB_SANITIZE=ON   ASan + UBSan on every target (make sanitize)
#   -DHB_TSAN=ON       ThreadSanitizer on every target (make tsan)
#   -DHB_FUZZ=ON       clang: libFuzzer coverage + ASan + UBSan, and the fuzz_request target (make fuzz)
option(HB_TSAN "Build with ThreadSanitizer" OFF)
option(HB_FUZZ "Build the libFuzzer targets (clang) with ASan and UBSan" OFF)

if((HB_SANITIZE AND HB_TSAN) OR (HB_FUZZ AND HB_TSAN))
  message(FATAL_ERROR "ThreadSanitizer cannot be combined with ASan (HB_SANITIZE, HB_FUZZ)")
endif()

if(HB_SANITIZE OR HB_FUZZ)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(HB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "HB_FUZZ needs clang (libFuzzer): configure with CXX=clang++ CC=clang")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(HB_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
