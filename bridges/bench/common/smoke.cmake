# ctest's smoke run of one benchmark program (cmake -DPROGRAM=path -P smoke.cmake):
# it must exit 0 and no benchmark may report an error, which SkipWithError
# does without changing the exit code.
execute_process(COMMAND "${PROGRAM}" --benchmark_min_time=0.01 --benchmark_format=json
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}\n${err}")
endif()
if(out MATCHES "\"error_occurred\": true")
  string(REGEX MATCHALL "\"name\": \"[^\"]*\",[^}]*\"error_message\": \"[^\"]*\"" failed "${out}")
  message(FATAL_ERROR "${PROGRAM}: benchmarks reported errors:\n${failed}")
endif()
message(STATUS "${PROGRAM}: ok")
