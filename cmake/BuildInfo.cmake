# The commit sosproxy is built from, for `sosproxy --version` and sosproxy_build_info.
#
# Read when CMake configures: `git rev-parse` in the source tree, "+dirty" appended when tracked
# files differ from that commit. CMake configures again whenever HEAD moves (a commit, a
# checkout), so the value follows the tree without a step on every build. A source tree without
# git (a release tarball) gives "unknown"; a packager who knows the commit passes
# -DSOS_GIT_COMMIT=... and that value is used as is.

set(SOS_GIT_COMMIT "" CACHE STRING "Commit to report in --version (empty: ask git, else unknown)")

function(sos_build_info out_commit)
  if(NOT SOS_GIT_COMMIT STREQUAL "")
    if(NOT SOS_GIT_COMMIT MATCHES "^[A-Za-z0-9._+-]+$")
      message(FATAL_ERROR "SOS_GIT_COMMIT '${SOS_GIT_COMMIT}': letters, digits and . _ + - only")
    endif()
    set(${out_commit} "${SOS_GIT_COMMIT}" PARENT_SCOPE)
    return()
  endif()
  set(commit "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND)
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE head RESULT_VARIABLE rc ERROR_QUIET
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(rc EQUAL 0 AND NOT head STREQUAL "")
      set(commit "${head}")
      execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                      WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                      OUTPUT_VARIABLE changed ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT changed STREQUAL "")
        string(APPEND commit "+dirty")
      endif()
      # Configure again when HEAD moves: HEAD itself (a checkout) and its reflog (a commit,
      # a reset), each where this work tree keeps them.
      foreach(name HEAD logs/HEAD)
        execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --git-path ${name}
                        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                        OUTPUT_VARIABLE file RESULT_VARIABLE rc ERROR_QUIET
                        OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(rc EQUAL 0)
          get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${PROJECT_SOURCE_DIR}")
          if(EXISTS "${file}")
            set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY
                         CMAKE_CONFIGURE_DEPENDS "${file}")
          endif()
        endif()
      endforeach()
    endif()
  endif()
  set(${out_commit} "${commit}" PARENT_SCOPE)
endfunction()
