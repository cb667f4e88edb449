# The dashboard (web/): TypeScript built by npm (Vite) into ${GPUFLEET_WEB_DIST}, which gpufleetd
# serves by default (GPUFLEET_DEFAULT_WEB_DIR). Without npm the C++ build goes on and gpufleetd
# serves a page saying the dashboard was not built. Both npm steps hold a lock on web/, because
# several build directories (dev, release) share web/node_modules.
option(GPUFLEET_WEB "Build the dashboard with npm (web/)" ON)
set(GPUFLEET_WEB_DIST "${CMAKE_BINARY_DIR}/web/dist")
set(GPUFLEET_WEB_BUILT OFF)
set(_web "${PROJECT_SOURCE_DIR}/web")

if(GPUFLEET_WEB AND EXISTS "${_web}/package-lock.json")
  find_program(GPUFLEET_NPM npm)
  find_program(GPUFLEET_FLOCK flock)
  if(GPUFLEET_NPM AND GPUFLEET_FLOCK)
    file(GLOB_RECURSE _web_sources CONFIGURE_DEPENDS
         "${_web}/src/*" "${_web}/public/*" "${_web}/index.html" "${_web}/*.config.*"
         "${_web}/tsconfig*.json")
    set(_npm_ci_stamp "${CMAKE_BINARY_DIR}/web/npm-ci.stamp")
    add_custom_command(
      OUTPUT "${_npm_ci_stamp}"
      COMMAND "${GPUFLEET_FLOCK}" "${_web}/.build-lock"
              "${GPUFLEET_NPM}" ci --no-audit --no-fund --loglevel=error
      COMMAND "${CMAKE_COMMAND}" -E touch "${_npm_ci_stamp}"
      DEPENDS "${_web}/package.json" "${_web}/package-lock.json"
      WORKING_DIRECTORY "${_web}"
      COMMENT "npm ci in web/ (the dashboard's dependencies, as package-lock.json pins them)"
      VERBATIM)
    add_custom_command(
      OUTPUT "${GPUFLEET_WEB_DIST}/index.html"
      COMMAND "${GPUFLEET_FLOCK}" "${_web}/.build-lock"
              "${GPUFLEET_NPM}" run --silent build -- --outDir "${GPUFLEET_WEB_DIST}" --emptyOutDir
      DEPENDS "${_npm_ci_stamp}" ${_web_sources}
      WORKING_DIRECTORY "${_web}"
      COMMENT "Building the dashboard: web/ -> ${GPUFLEET_WEB_DIST}"
      VERBATIM)
    add_custom_target(web ALL DEPENDS "${GPUFLEET_WEB_DIST}/index.html")
    set(GPUFLEET_WEB_BUILT ON)
  else()
    message(STATUS "npm or flock not found: the dashboard is not built "
                   "(gpufleetd serves a page that says so; scripts/install-deps installs npm)")
  endif()
endif()

# Wires the dashboard into gpufleetd and registers its browser test (call after the targets).
function(gpufleet_web_finish)
  target_compile_definitions(gpufleetd PRIVATE GPUFLEET_DEFAULT_WEB_DIR="${GPUFLEET_WEB_DIST}")
  if(NOT GPUFLEET_WEB_BUILT)
    return()
  endif()
  add_dependencies(gpufleetd web)
  install(DIRECTORY "${GPUFLEET_WEB_DIST}/" DESTINATION share/gpufleet/web)
  find_program(GPUFLEET_CHROMIUM chromium)
  find_program(GPUFLEET_NODE node)
  if(GPUFLEET_BUILD_TESTS AND GPUFLEET_NODE)
    # The dashboard's own checks: TypeScript types (tsc --noEmit) and its unit tests.
    add_test(NAME web_typecheck COMMAND "${GPUFLEET_NPM}" run --silent typecheck
             WORKING_DIRECTORY "${_web}")
    add_test(NAME web_unit COMMAND "${GPUFLEET_NODE}" "${_web}/test/run-unit.mjs"
             WORKING_DIRECTORY "${_web}")
    set_tests_properties(web_typecheck web_unit PROPERTIES LABELS web TIMEOUT 120)
  endif()
  if(GPUFLEET_BUILD_TESTS AND GPUFLEET_CHROMIUM AND GPUFLEET_NODE
     AND EXISTS "${_web}/e2e/dashboard.e2e.mjs")
    # The browser end-to-end test: playwright-core drives Debian's chromium against a real
    # `gpufleetd demo`; screenshots land in test-artifacts/dashboard.
    add_test(NAME dashboard_e2e
      COMMAND "${GPUFLEET_NODE}" "${_web}/e2e/dashboard.e2e.mjs"
              --gpufleetd $<TARGET_FILE:gpufleetd> --web-dir "${GPUFLEET_WEB_DIST}"
              --artifacts "${CMAKE_BINARY_DIR}/test-artifacts/dashboard"
      WORKING_DIRECTORY "${_web}")
    set_tests_properties(dashboard_e2e PROPERTIES LABELS "e2e;browser" TIMEOUT 240
                         SKIP_RETURN_CODE 77)
  endif()
endfunction()
