# dmarcwatch_embed(TARGET <name> NAMESPACE <ns> FILES <file>...)
#
# Turns files into a generated C++ source that defines
#   std::span<const dmarcwatch::EmbeddedFile> <ns>::Files();
# The bytes are written as integer literals, so any content (SQL, JavaScript,
# a binary) is embedded exactly and nothing is read from disk at run time.
function(dmarcwatch_embed)
  cmake_parse_arguments(ARG "" "TARGET;NAMESPACE;BASE_DIR" "FILES" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_embedded.cpp")
  set(script "${PROJECT_SOURCE_DIR}/cmake/EmbedScript.cmake")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNS=${ARG_NAMESPACE}
            -DBASE_DIR=${ARG_BASE_DIR} "-DFILES=${ARG_FILES}" -P ${script}
    DEPENDS ${ARG_FILES} ${script}
    COMMENT "Embedding ${ARG_TARGET} files"
    VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE "${out}")
endfunction()
