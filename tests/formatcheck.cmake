# Fails when any C++ source in the repository differs from what clang-format makes of it.
file(GLOB_RECURSE sources
    ${SOURCE_DIR}/app/*.cpp ${SOURCE_DIR}/app/*.h
    ${SOURCE_DIR}/core/*.cpp ${SOURCE_DIR}/core/*.h
    ${SOURCE_DIR}/ui/*.cpp ${SOURCE_DIR}/ui/*.h
    ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.h
    ${SOURCE_DIR}/bench/*.cpp ${SOURCE_DIR}/bench/*.h)
list(FILTER sources EXCLUDE REGEX "/node_modules/")
set(unformatted "")
foreach(source ${sources})
    execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${source}
                    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(NOT rc EQUAL 0)
        list(APPEND unformatted ${source})
    endif()
endforeach()
list(LENGTH sources total)
if(unformatted)
    string(REPLACE ";" "\n  " listing "${unformatted}")
    message(FATAL_ERROR "Not clang-formatted (run clang-format -i):\n  ${listing}")
endif()
message(STATUS "${total} sources follow .clang-format")
