# API tests (included at the end of cmake/VkattnTests.cmake; ctest -R api):
# - api_header_c99, api_header_c11, api_header_cxx17: tests/api/header_c.c as C99 and C11 and tests/api/header_cxx.cpp
#   as C++17, each with -pedantic -Wall -Wextra -Werror whatever VKATTN_WERROR says (the point is that the header is
#   clean in every language it promises), linked against the shared library and run.
# - api_symbols: tests/api/check_symbols.cmake compares the exports of libvkattn.so with tests/api/symbols.txt and
#   checks the SONAME.

set(VKATTN_API_FLAGS -pedantic -Wall -Wextra -Werror)

foreach(std IN ITEMS 99 11)
  add_executable(api_header_c${std} "${PROJECT_SOURCE_DIR}/tests/api/header_c.c")
  # Standard set per target (the project's CMAKE_C_STANDARD is 11); no extensions, so -std=c99 / -std=c11.
  set_target_properties(api_header_c${std} PROPERTIES C_STANDARD ${std} C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                        RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/tests")
  target_compile_options(api_header_c${std} PRIVATE ${VKATTN_API_FLAGS})
  target_link_libraries(api_header_c${std} PRIVATE vkattn)
  add_test(NAME api_header_c${std} COMMAND api_header_c${std})
  set_tests_properties(api_header_c${std} PROPERTIES TIMEOUT 60)
endforeach()

# C++ only for this test: the library and everything else stay C, and a machine without g++ still builds them.
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  add_executable(api_header_cxx17 "${PROJECT_SOURCE_DIR}/tests/api/header_cxx.cpp")
  set_target_properties(api_header_cxx17 PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
                        RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/tests")
  target_compile_options(api_header_cxx17 PRIVATE ${VKATTN_API_FLAGS})
  target_link_libraries(api_header_cxx17 PRIVATE vkattn)
  add_test(NAME api_header_cxx17 COMMAND api_header_cxx17)
  set_tests_properties(api_header_cxx17 PROPERTIES TIMEOUT 60)
elseif("$ENV{CI}" STREQUAL "true")
  # In CI the C++ check must not disappear silently (scripts/install-deps.sh installs g++).
  message(FATAL_ERROR "vkattn: no C++ compiler found; api_header_cxx17 needs one (apt-get install g++)")
else()
  message(WARNING "vkattn: no C++ compiler found; api_header_cxx17 (the header as C++17) is not built")
endif()

# nm and readelf come from binutils; CMake's toolchain detection usually finds both already.
if(NOT CMAKE_NM)
  find_program(CMAKE_NM nm)
endif()
if(NOT CMAKE_READELF)
  find_program(CMAKE_READELF readelf)
endif()
if(NOT CMAKE_NM OR NOT CMAKE_READELF)
  message(FATAL_ERROR "vkattn: nm and readelf (binutils) are needed by the api_symbols test")
endif()
add_test(NAME api_symbols
         COMMAND "${CMAKE_COMMAND}" "-DLIB=$<TARGET_FILE:vkattn>" "-DLIST=${PROJECT_SOURCE_DIR}/tests/api/symbols.txt"
                 "-DNM=${CMAKE_NM}" "-DREADELF=${CMAKE_READELF}"
                 -P "${PROJECT_SOURCE_DIR}/tests/api/check_symbols.cmake")
set_tests_properties(api_symbols PROPERTIES TIMEOUT 60)
