# hb_cffi_module(OUTPUT stamp MODULE name OUT_DIR dir LIBRARY target [CALLBACKS prototype...])
# Compiles a CFFI module over httpbridge.h (bridges/cffi/build_cffi.py, the one
# build script of every CFFI module here), linked to LIBRARY, a CMake target.
# OUTPUT is a stamp touched once the module is built. HB_INCLUDE_DIRS and
# HB_PUBLIC_HEADERS come from bridges/httpbridge.
#
# hb_cffi_available(var what): sets var to whether ${HB_PYTHON} can build one
# (cffi, setuptools and the Python headers); when it cannot, says that `what`
# is not built and why.
set(HB_BUILD_CFFI_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/../bridges/cffi/build_cffi.py")

function(hb_cffi_available var what)
  set(Python3_EXECUTABLE "${HB_PYTHON}")
  find_package(Python3 COMPONENTS Interpreter Development.Module)
  execute_process(COMMAND "${HB_PYTHON}" -c "import cffi, setuptools"
    RESULT_VARIABLE missing OUTPUT_QUIET ERROR_QUIET)
  if(Python3_Development.Module_FOUND AND NOT missing)
    set(${var} ON PARENT_SCOPE)
  else()
    message(STATUS "${what} not built (needs ${HB_PYTHON} with cffi, setuptools and the Python headers)")
    set(${var} OFF PARENT_SCOPE)
  endif()
endfunction()

function(hb_cffi_module)
  cmake_parse_arguments(ARG "" "OUTPUT;MODULE;OUT_DIR;LIBRARY" "CALLBACKS" ${ARGN})
  set(args --module "${ARG_MODULE}" --out-dir "${ARG_OUT_DIR}"
           --lib-dir "$<TARGET_FILE_DIR:${ARG_LIBRARY}>" --library "$<TARGET_FILE_BASE_NAME:${ARG_LIBRARY}>")
  foreach(dir IN LISTS HB_INCLUDE_DIRS)
    list(APPEND args --include-dir "${dir}")
  endforeach()
  foreach(prototype IN LISTS ARG_CALLBACKS)
    list(APPEND args --callback "${prototype}")
  endforeach()
  file(MAKE_DIRECTORY "${ARG_OUT_DIR}")
  add_custom_command(
    OUTPUT "${ARG_OUTPUT}"
    COMMAND "${HB_PYTHON}" "${HB_BUILD_CFFI_SCRIPT}" ${args}
    COMMAND "${CMAKE_COMMAND}" -E touch "${ARG_OUTPUT}"
    DEPENDS "${HB_BUILD_CFFI_SCRIPT}" ${HB_PUBLIC_HEADERS} ${ARG_LIBRARY}
    WORKING_DIRECTORY "${ARG_OUT_DIR}"
    COMMENT "cffi: compiling ${ARG_MODULE}"
    VERBATIM)
endfunction()
