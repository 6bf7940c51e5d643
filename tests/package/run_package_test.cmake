# cmake -P script behind the ctest "package/find_package":
#   1. cmake --install <build dir> --prefix <work dir>/prefix
#   2. configure tests/package/consumer with CMAKE_PREFIX_PATH=<prefix>,
#      the same C++ compiler, build type and generator
#   3. build it
#   4. run the consumer executable
# Any failing step ends the script with FATAL_ERROR naming the step.
# No network access is needed.
#
# Inputs (-D): ACTORLOOP_BUILD_DIR, ACTORLOOP_WORK_DIR,
#   ACTORLOOP_CONSUMER_SOURCE_DIR, ACTORLOOP_CXX_COMPILER,
#   optional: ACTORLOOP_BUILD_CONFIG, ACTORLOOP_BUILD_TYPE,
#   ACTORLOOP_GENERATOR, ACTORLOOP_CXX_COMPILER_LAUNCHER.
cmake_minimum_required(VERSION 3.25)

foreach(var ACTORLOOP_BUILD_DIR ACTORLOOP_WORK_DIR ACTORLOOP_CONSUMER_SOURCE_DIR
            ACTORLOOP_CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "package test: ${var} is not set")
  endif()
endforeach()

set(prefix "${ACTORLOOP_WORK_DIR}/prefix")
set(consumer_build "${ACTORLOOP_WORK_DIR}/consumer-build")

# run_step(<description> <command...>): run, echo, fail loudly.
function(run_step description)
  message(STATUS "package test: ${description}")
  execute_process(
    COMMAND ${ARGN}
    RESULT_VARIABLE result
    COMMAND_ECHO STDOUT)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR
      "package test FAILED at step '${description}' (exit status: ${result})")
  endif()
endfunction()

file(REMOVE_RECURSE "${prefix}" "${consumer_build}")
file(MAKE_DIRECTORY "${ACTORLOOP_WORK_DIR}")

# 1. install
set(install_cmd "${CMAKE_COMMAND}" --install "${ACTORLOOP_BUILD_DIR}" --prefix "${prefix}")
if(ACTORLOOP_BUILD_CONFIG)
  list(APPEND install_cmd --config "${ACTORLOOP_BUILD_CONFIG}")
endif()
run_step("install actorloop into ${prefix}" ${install_cmd})

if(NOT EXISTS "${prefix}/lib/cmake/actorloop/actorloopConfig.cmake"
   AND NOT EXISTS "${prefix}/lib64/cmake/actorloop/actorloopConfig.cmake")
  file(GLOB_RECURSE found_configs "${prefix}/*/actorloopConfig.cmake")
  if(NOT found_configs)
    message(FATAL_ERROR
      "package test FAILED: no actorloopConfig.cmake was installed under ${prefix}")
  endif()
endif()

# 2. configure the consumer against the installed tree only
set(configure_cmd "${CMAKE_COMMAND}"
  -S "${ACTORLOOP_CONSUMER_SOURCE_DIR}"
  -B "${consumer_build}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  "-DCMAKE_CXX_COMPILER=${ACTORLOOP_CXX_COMPILER}"
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
if(ACTORLOOP_GENERATOR)
  list(APPEND configure_cmd -G "${ACTORLOOP_GENERATOR}")
endif()
if(ACTORLOOP_BUILD_TYPE)
  list(APPEND configure_cmd "-DCMAKE_BUILD_TYPE=${ACTORLOOP_BUILD_TYPE}")
endif()
if(ACTORLOOP_CXX_COMPILER_LAUNCHER)
  list(APPEND configure_cmd "-DCMAKE_CXX_COMPILER_LAUNCHER=${ACTORLOOP_CXX_COMPILER_LAUNCHER}")
endif()
run_step("configure the consumer (find_package(actorloop CONFIG))" ${configure_cmd})

# 3. build
set(build_cmd "${CMAKE_COMMAND}" --build "${consumer_build}")
if(ACTORLOOP_BUILD_CONFIG)
  list(APPEND build_cmd --config "${ACTORLOOP_BUILD_CONFIG}")
endif()
run_step("build the consumer" ${build_cmd})

# 4. run
set(consumer_exe "${consumer_build}/consumer")
if(NOT EXISTS "${consumer_exe}" AND ACTORLOOP_BUILD_CONFIG)
  set(consumer_exe "${consumer_build}/${ACTORLOOP_BUILD_CONFIG}/consumer")
endif()
if(NOT EXISTS "${consumer_exe}")
  message(FATAL_ERROR "package test FAILED: consumer executable not found in ${consumer_build}")
endif()
run_step("run the consumer" "${consumer_exe}")

message(STATUS "package test: OK")
