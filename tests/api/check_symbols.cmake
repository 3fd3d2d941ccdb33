# check_symbols.cmake - the exported-symbol test (ctest api_symbols, registered by cmake/VkattnApi.cmake).
#   cmake -DLIB=<libvkattn.so> -DLIST=tests/api/symbols.txt -DNM=<nm> -DREADELF=<readelf> -P check_symbols.cmake
# symbols.txt is the reviewed API: a listed symbol that the library no longer exports breaks every program built
# against an earlier release, and an unlisted one is API that nobody reviewed. Either fails, as does any export
# outside the vkattn_ prefix (a helper that lost its hidden visibility, a leaked volk vk* pointer) and a SONAME other
# than libvkattn.so.0 (the ABI major that programs record when they link).
cmake_minimum_required(VERSION 3.25) # IN_LIST and the other policies of the project
foreach(var LIB LIST NM READELF)
  if(NOT ${var})
    message(FATAL_ERROR "check_symbols.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}" OUTPUT_VARIABLE nm_out RESULT_VARIABLE nm_rc
                ERROR_VARIABLE nm_err)
if(NOT nm_rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIB} failed (${nm_rc}): ${nm_err}")
endif()
# Lines are "<address> <type> <name>"; the name is the last field (with @VERSION if the library ever gets a
# version script, which is stripped so the list stays plain names).
string(REPLACE "\n" ";" nm_lines "${nm_out}")
set(exported "")
foreach(line IN LISTS nm_lines)
  string(STRIP "${line}" line)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX REPLACE "^.* " "" name "${line}")
  string(REGEX REPLACE "@.*$" "" name "${name}")
  list(APPEND exported "${name}")
endforeach()
list(REMOVE_DUPLICATES exported)
list(SORT exported)

file(STRINGS "${LIST}" listed REGEX "^[^#]")
list(TRANSFORM listed STRIP)
list(REMOVE_ITEM listed "")
list(SORT listed)

set(missing "")
foreach(name IN LISTS listed)
  if(NOT name IN_LIST exported)
    list(APPEND missing "${name}")
  endif()
endforeach()
set(foreign "")
set(unlisted "")
foreach(name IN LISTS exported)
  if(NOT name MATCHES "^vkattn_")
    list(APPEND foreign "${name}")
  elseif(NOT name IN_LIST listed)
    list(APPEND unlisted "${name}")
  endif()
endforeach()

execute_process(COMMAND "${READELF}" -d "${LIB}" OUTPUT_VARIABLE dyn_out RESULT_VARIABLE dyn_rc ERROR_VARIABLE dyn_err)
set(soname "")
if(dyn_out MATCHES "\\(SONAME\\)[^[]*\\[([^]]*)\\]")
  set(soname "${CMAKE_MATCH_1}")
endif()

list(LENGTH exported n_exported)
list(LENGTH listed n_listed)
message(STATUS "${LIB}: ${n_exported} exported symbols, ${n_listed} listed in ${LIST}, SONAME '${soname}'")

set(failed FALSE)
if(missing)
  set(failed TRUE)
  list(JOIN missing "\n  - " text)
  message(STATUS "Listed in symbols.txt but no longer exported (removing API breaks programs built against it):"
                 "\n  - ${text}")
endif()
if(unlisted)
  set(failed TRUE)
  list(JOIN unlisted "\n  + " text)
  message(STATUS "Exported but not in symbols.txt; if this is intended new API, add it to ${LIST} (sorted):"
                 "\n  + ${text}")
endif()
if(foreign)
  set(failed TRUE)
  list(JOIN foreign "\n  ! " text)
  message(STATUS "Exported without the vkattn_ prefix (only vkattn_* may leave the library; mark it static or "
                 "build it with hidden visibility):\n  ! ${text}")
endif()
if(NOT dyn_rc EQUAL 0 OR NOT soname STREQUAL "libvkattn.so.0")
  set(failed TRUE)
  message(STATUS "SONAME is '${soname}', expected 'libvkattn.so.0' (${READELF} -d: rc ${dyn_rc} ${dyn_err})")
endif()
if(failed)
  message(FATAL_ERROR "exported API of ${LIB} differs from ${LIST}")
endif()
message(STATUS "exported API matches ${LIST}")
