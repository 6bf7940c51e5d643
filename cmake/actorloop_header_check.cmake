# actorloop_check_headers(<module>)
#
# Compiles every public header of actorloop::<module> on its own, twice in
# one translation unit: a header that misses an include, or whose include
# guard is wrong, fails the build instead of failing a user's.  The check is
# an object library, actorloop_<module>_header_check, built with the tests.
function(actorloop_check_headers module)
  set(include_root "${actorloop_SOURCE_DIR}/${module}/include")
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE "${include_root}"
       "${include_root}/actorloop/${module}/*.hpp")
  list(SORT headers)
  if(NOT headers)
    message(FATAL_ERROR "actorloop: no public headers found for module '${module}'")
  endif()
  set(check_sources "")
  foreach(header IN LISTS headers)
    string(MAKE_C_IDENTIFIER "${header}" stem)
    set(source "${CMAKE_BINARY_DIR}/header_check/${module}/${stem}.cpp")
    set(text "// Generated: ${header} must compile on its own.\n#include <${header}>\n#include <${header}>\n")
    if(EXISTS "${source}")
      file(READ "${source}" old_text)
    else()
      set(old_text "")
    endif()
    if(NOT old_text STREQUAL text)
      file(WRITE "${source}" "${text}")
    endif()
    list(APPEND check_sources "${source}")
  endforeach()
  set(target "actorloop_${module}_header_check")
  add_library(${target} OBJECT ${check_sources})
  target_link_libraries(${target} PRIVATE actorloop::${module})
  actorloop_set_warnings(${target})
endfunction()
