# actorloop_add_module(<name>
#   SOURCES <src/...cpp>...
#   [PUBLIC_DEPENDS <targets>...]
#   [PRIVATE_DEPENDS <targets>...])
#
# Defines the library actorloop_<name> (alias and export name
# actorloop::<name>) from an explicit source list, with the module's public
# headers in <name>/include/actorloop/<name>/ and its private ones in
# <name>/src/, and installs both the library and the public headers.  Every
# module is built the same way; only its sources and dependencies differ.
function(actorloop_add_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;PUBLIC_DEPENDS;PRIVATE_DEPENDS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "actorloop_add_module(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "actorloop_add_module(${name}): no SOURCES given")
  endif()
  set(module_dir "${CMAKE_CURRENT_SOURCE_DIR}")
  # An explicit list must not fall behind the folder: a source that is in
  # src/ but not listed is a mistake, not something to leave out silently.
  file(GLOB present RELATIVE "${module_dir}" CONFIGURE_DEPENDS "${module_dir}/src/*.cpp")
  foreach(source IN LISTS present)
    if(NOT source IN_LIST arg_SOURCES)
      message(FATAL_ERROR "actorloop_add_module(${name}): ${source} is in src/ but not in SOURCES")
    endif()
  endforeach()

  set(target "actorloop_${name}")
  add_library(${target} ${arg_SOURCES}) # static unless BUILD_SHARED_LIBS is ON
  add_library(actorloop::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${name}
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target}
    PUBLIC
      $<BUILD_INTERFACE:${module_dir}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE
      ${module_dir}/src)
  target_link_libraries(${target} PUBLIC ${arg_PUBLIC_DEPENDS} PRIVATE ${arg_PRIVATE_DEPENDS})
  actorloop_set_warnings(${target})

  install(TARGETS ${target}
    EXPORT actorloopTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY "${module_dir}/include/actorloop/${name}"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/actorloop"
    FILES_MATCHING PATTERN "*.hpp")
endfunction()
