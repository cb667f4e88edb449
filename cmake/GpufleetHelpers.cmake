# Small helpers so every module is declared the same way and its links state the allowed arrows
# of docs/architecture.md. Warnings and sanitizers come from INTERFACE targets, not global flags.

add_library(gpufleet_warnings INTERFACE)
target_compile_options(gpufleet_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wimplicit-fallthrough
  # Not under ThreadSanitizer: its -O1 inlining makes it misfire inside Boost.Asio's scheduler.
  $<$<NOT:$<BOOL:${GPUFLEET_TSAN}>>:-Wnull-dereference>
  $<$<BOOL:${GPUFLEET_WERROR}>:-Werror>)

add_library(gpufleet_sanitizers INTERFACE)
if(GPUFLEET_SANITIZE)
  target_compile_options(gpufleet_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(gpufleet_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(GPUFLEET_TSAN)
  # -O1 keeps the race reports' stacks readable and the tests a few times slower, not tens.
  # GCC warns that TSan does not model the fences Boost.Asio's handler invocation uses (its
  # scheduler's mutex orders the handlers we run): that warning is off in this build only.
  target_compile_options(gpufleet_sanitizers INTERFACE
    -fsanitize=thread -O1 -fno-omit-frame-pointer -Wno-tsan)
  target_link_options(gpufleet_sanitizers INTERFACE -fsanitize=thread)
endif()

# gpufleet_module(NAME SOURCES ... DEPS ...): one static library per src/<module>.
# DEPS lists the modules (and third-party targets) this module may use; nothing else is visible.
function(gpufleet_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(gpufleet_${name} STATIC ${ARG_SOURCES})
  add_library(gpufleet::${name} ALIAS gpufleet_${name})
  target_include_directories(gpufleet_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(gpufleet_${name} PUBLIC ${ARG_DEPS} gpufleet_sanitizers
                        PRIVATE ${ARG_PRIVATE_DEPS} gpufleet_warnings)
endfunction()

# One precompiled header for every test binary: GoogleTest, GoogleMock, nlohmann/json and the
# abseil headers nearly every test includes through src/. Parsing them was about half of a test
# file's compile time under the dev preset's sanitizers. GPUFLEET_PCH=OFF compiles without it
# (to check that each file includes what it uses).
option(GPUFLEET_PCH "Precompile the headers shared by the test binaries" ON)

# gpufleet_use_test_pch(TARGET): TARGET's sources start from the shared precompiled header.
function(gpufleet_use_test_pch target)
  if(NOT GPUFLEET_PCH)
    return()
  endif()
  if(NOT TARGET gpufleet_test_pch)
    # Built with the same flags and definitions as the tests, or GCC would refuse the header.
    add_library(gpufleet_test_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/test_pch.cc)
    target_link_libraries(gpufleet_test_pch PRIVATE GTest::gmock GTest::gtest absl::status
                          absl::statusor absl::strings absl::time nlohmann_json::nlohmann_json
                          gpufleet_warnings gpufleet_sanitizers)
    target_compile_definitions(gpufleet_test_pch PRIVATE
      GPUFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    target_precompile_headers(gpufleet_test_pch PRIVATE
      <gmock/gmock.h> <gtest/gtest.h> <nlohmann/json.hpp> <absl/status/status.h>
      <absl/status/statusor.h> <absl/strings/str_cat.h> <absl/time/time.h>
      <map> <memory> <optional> <string> <string_view> <vector>)
  endif()
  target_precompile_headers(${target} REUSE_FROM gpufleet_test_pch)
endfunction()

# gpufleet_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
function(gpufleet_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT GPUFLEET_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main
                        gpufleet_warnings gpufleet_sanitizers)
  target_compile_definitions(${name} PRIVATE
    GPUFLEET_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gpufleet_use_test_pch(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  # One label per binary: gtest_discover_tests expands the properties' lists once more, so
  # "a;b" would not arrive as two labels.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# gpufleet_embed(TARGET_VAR NAMESPACE_FN OUTPUT FILES ...): turns data files into a generated .cc
# that defines `std::vector<EmbeddedFile> <FN>()`, so binaries carry their facts with them.
function(gpufleet_embed out_var fn output)
  set(files ${ARGN})
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DFN=${fn} -DOUTPUT=${output} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${fn}"
    VERBATIM)
  set(${out_var} ${output} PARENT_SCOPE)
endfunction()
