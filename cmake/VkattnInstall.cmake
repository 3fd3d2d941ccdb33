# `cmake --install`: the header, libvkattn.so (SONAME libvkattn.so.0, only vkattn_* symbols exported) and
# libvkattn_static.a, the vkattn program, a CMake package (find_package(vkattn) -> vkattn::vkattn and
# vkattn::vkattn_static) and vkattn.pc for pkg-config. examples/consumer builds against the installed copy both ways
# (scripts/consumer.sh, run by CI).
include(CMakePackageConfigHelpers)

set(VKATTN_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/vkattn")

install(TARGETS vkattn vkattn_static EXPORT vkattnTargets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/include/vkattn.h" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
if(TARGET vkattn_cli)
  install(TARGETS vkattn_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()

install(EXPORT vkattnTargets NAMESPACE vkattn:: DESTINATION "${VKATTN_CMAKE_DIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/vkattnConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/vkattnConfig.cmake" INSTALL_DESTINATION "${VKATTN_CMAKE_DIR}")
# 0.x: every minor version may change the API, so a 0.1 consumer accepts only 0.1.*.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/vkattnConfigVersion.cmake"
                                 VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/vkattnConfig.cmake" "${PROJECT_BINARY_DIR}/vkattnConfigVersion.cmake"
        DESTINATION "${VKATTN_CMAKE_DIR}")

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), so `cmake --install --prefix` and a
# moved tree both work. The static library's system dependencies go in Libs.private (pkg-config --static).
file(RELATIVE_PATH VKATTN_PC_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
string(REGEX REPLACE "/$" "" VKATTN_PC_PREFIX "${VKATTN_PC_PREFIX}")
set(VKATTN_PC_PREFIX "\${pcfiledir}/${VKATTN_PC_PREFIX}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(VKATTN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(VKATTN_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(VKATTN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(VKATTN_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/vkattn.pc.in" "${PROJECT_BINARY_DIR}/vkattn.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/vkattn.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
