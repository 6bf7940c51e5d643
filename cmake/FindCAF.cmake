# FindCAF.cmake -- locate the C++ Actor Framework (CAF 0.17.x as shipped by
# Debian's libcaf-dev).
#
#   find_package(CAF [version] [REQUIRED] [COMPONENTS core io openssl])
#
# Components map to libraries: core -> caf_core, io -> caf_io,
# openssl -> caf_openssl.  Without COMPONENTS, "core" is searched.
#
# Imported targets (each only created if it does not exist yet):
#   CAF::core     caf_core + Threads::Threads
#   CAF::io       caf_io, links CAF::core
#   CAF::openssl  caf_openssl, links CAF::io (and OpenSSL::SSL if found)
#
# Result variables:
#   CAF_FOUND, CAF_VERSION ("0.17.6" from "#define CAF_VERSION 1706"),
#   CAF_INCLUDE_DIRS, CAF_LIBRARIES, CAF_<comp>_FOUND, CAF_<comp>_LIBRARY
#
# Hints: CAF_ROOT (standard <Pkg>_ROOT handling) or CAF_ROOT_DIR.

include(FindPackageHandleStandardArgs)

find_path(CAF_INCLUDE_DIR
  NAMES caf/all.hpp
  HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR
  PATH_SUFFIXES include)
mark_as_advanced(CAF_INCLUDE_DIR)

# --- version -------------------------------------------------------------------
unset(CAF_VERSION)
if(CAF_INCLUDE_DIR)
  foreach(_caf_hdr caf/config.hpp caf/detail/build_config.hpp)
    if(NOT DEFINED CAF_VERSION AND EXISTS "${CAF_INCLUDE_DIR}/${_caf_hdr}")
      file(STRINGS "${CAF_INCLUDE_DIR}/${_caf_hdr}" _caf_version_line
           REGEX "^#[ \t]*define[ \t]+CAF_VERSION[ \t]+[0-9]+")
      if(_caf_version_line)
        string(REGEX REPLACE "^#[ \t]*define[ \t]+CAF_VERSION[ \t]+([0-9]+).*$" "\\1"
               _caf_version_int "${_caf_version_line}")
        math(EXPR _caf_major "${_caf_version_int} / 10000")
        math(EXPR _caf_minor "(${_caf_version_int} / 100) % 100")
        math(EXPR _caf_patch "${_caf_version_int} % 100")
        set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
      endif()
    endif()
  endforeach()
  unset(_caf_hdr)
  unset(_caf_version_line)
  unset(_caf_version_int)
  unset(_caf_major)
  unset(_caf_minor)
  unset(_caf_patch)
endif()

# --- components ------------------------------------------------------------------
set(_caf_known_components core io openssl)
set(_caf_deps_core "")
set(_caf_deps_io core)
set(_caf_deps_openssl io)

set(_caf_requested ${CAF_FIND_COMPONENTS})
if(NOT _caf_requested)
  set(_caf_requested core)
endif()

# Close over dependencies (openssl -> io -> core), dependencies first.
set(_caf_search "")
foreach(_caf_comp IN LISTS _caf_requested)
  if(_caf_comp STREQUAL "openssl")
    list(APPEND _caf_search core io openssl)
  elseif(_caf_comp STREQUAL "io")
    list(APPEND _caf_search core io)
  else()
    list(APPEND _caf_search ${_caf_comp})
  endif()
endforeach()
list(REMOVE_DUPLICATES _caf_search)

if(NOT TARGET Threads::Threads)
  find_package(Threads QUIET)
endif()

set(CAF_LIBRARIES "")
foreach(_caf_comp IN LISTS _caf_search)
  set(CAF_${_caf_comp}_FOUND FALSE)
  if(NOT _caf_comp IN_LIST _caf_known_components)
    if(NOT CAF_FIND_QUIETLY)
      message(STATUS "FindCAF: unknown component '${_caf_comp}' "
                     "(known: ${_caf_known_components})")
    endif()
    continue()
  endif()
  find_library(CAF_${_caf_comp}_LIBRARY
    NAMES caf_${_caf_comp}
    HINTS ${CAF_ROOT_DIR} ENV CAF_ROOT_DIR
    PATH_SUFFIXES lib lib64)
  mark_as_advanced(CAF_${_caf_comp}_LIBRARY)

  set(_caf_deps_ok TRUE)
  foreach(_caf_dep IN LISTS _caf_deps_${_caf_comp})
    if(NOT CAF_${_caf_dep}_FOUND)
      set(_caf_deps_ok FALSE)
    endif()
  endforeach()
  if(CAF_INCLUDE_DIR AND CAF_${_caf_comp}_LIBRARY AND _caf_deps_ok)
    set(CAF_${_caf_comp}_FOUND TRUE)
    list(APPEND CAF_LIBRARIES "${CAF_${_caf_comp}_LIBRARY}")
  endif()
endforeach()

if(CAF_core_FOUND AND TARGET Threads::Threads)
  list(APPEND CAF_LIBRARIES Threads::Threads)
endif()

find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)

# --- imported targets ----------------------------------------------------------------
if(CAF_FOUND)
  set(CAF_INCLUDE_DIRS "${CAF_INCLUDE_DIR}")

  if(CAF_core_FOUND AND NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_core_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
    if(TARGET Threads::Threads)
      set_property(TARGET CAF::core APPEND PROPERTY
        INTERFACE_LINK_LIBRARIES Threads::Threads)
    endif()
  endif()

  if(CAF_io_FOUND AND NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_io_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()

  if(CAF_openssl_FOUND AND NOT TARGET CAF::openssl)
    if(NOT TARGET OpenSSL::SSL)
      find_package(OpenSSL QUIET)
    endif()
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES
      IMPORTED_LOCATION "${CAF_openssl_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CAF::io)
    if(TARGET OpenSSL::SSL)
      set_property(TARGET CAF::openssl APPEND PROPERTY
        INTERFACE_LINK_LIBRARIES OpenSSL::SSL)
    endif()
  endif()
endif()

unset(_caf_known_components)
unset(_caf_deps_core)
unset(_caf_deps_io)
unset(_caf_deps_openssl)
unset(_caf_deps_ok)
unset(_caf_dep)
unset(_caf_requested)
unset(_caf_search)
unset(_caf_comp)
