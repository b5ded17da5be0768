# Turns packaged .proto files into a static library of C++ messages for the protobuf *lite*
# runtime (no descriptors, no reflection: a fraction of the full runtime's resident code). The
# RPC transport is src/rpc, so no service stubs are generated.
#
# oak_proto_lite_library(<target>
#   STAGE <dir>                 # build-tree root that receives the patched copies and the output
#   FILES <root>:<rel> ...)     # each proto as "<include root>:<path relative to it>"
#
# The copies are made at configure time without the Go generator's custom options (gogoproto,
# containerd's fieldpath plugin): they change nothing on the wire, and their definitions extend
# descriptor.proto, which the lite runtime does not have. The well-known types the protos import
# (google/protobuf/*.proto) are generated here too, as lite messages. Generated headers are
# included as "<rel without .proto>.pb.h". Nothing generated leaves the build tree.

find_package(Protobuf REQUIRED GLOBAL)

function(oak_proto_lite_library target)
  cmake_parse_arguments(P "" "STAGE" "FILES" ${ARGN})
  set(src_dir ${P_STAGE}/proto)
  set(gen_dir ${P_STAGE}/gen)
  file(MAKE_DIRECTORY ${gen_dir})

  set(protos)
  set(outputs)
  set(imports)
  foreach(entry IN LISTS P_FILES)
    string(FIND "${entry}" ":" colon)
    string(SUBSTRING "${entry}" 0 ${colon} root)
    math(EXPR rest "${colon} + 1")
    string(SUBSTRING "${entry}" ${rest} -1 rel)

    # Configure again when a packaged proto changes (a Debian update).
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${root}/${rel})
    file(READ ${root}/${rel} text)
    string(REGEX REPLACE "(^|\n)import weak [^\n]*" "\\1" text "${text}")
    string(REGEX REPLACE "(^|\n)[ \t]*option[ \t]*\\([^\n]*" "\\1" text "${text}")
    string(REGEX REPLACE "[ \t]*\\[[^]\n]*\\((gogoproto|containerd\\.plugin)\\.[^]\n]*\\]" ""
                         text "${text}")
    if(text MATCHES "gogoproto|containerd\\.plugin")
      message(FATAL_ERROR "${rel}: a custom option is left after patching")
    endif()
    string(REGEX MATCHALL "import \"google/protobuf/[a-z_]+\\.proto\"" found "${text}")
    list(APPEND imports ${found})
    # Rewrite only on change, so that configuring again does not regenerate everything.
    set(old "")
    if(EXISTS ${src_dir}/${rel})
      file(READ ${src_dir}/${rel} old)
    endif()
    if(NOT old STREQUAL text)
      file(WRITE ${src_dir}/${rel} "${text}")
    endif()
    list(APPEND protos ${rel})
  endforeach()

  # The well-known types, from the protobuf headers' directory.
  list(REMOVE_DUPLICATES imports)
  foreach(import IN LISTS imports)
    string(REGEX REPLACE "import \"(.*)\"" "\\1" rel "${import}")
    configure_file(${Protobuf_INCLUDE_DIRS}/${rel} ${src_dir}/${rel} COPYONLY)
    list(APPEND protos ${rel})
  endforeach()

  foreach(rel IN LISTS protos)
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    list(APPEND outputs ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.pb.h)
  endforeach()

  list(TRANSFORM protos PREPEND ${src_dir}/ OUTPUT_VARIABLE patched)
  set(protoc $<TARGET_FILE:protobuf::protoc>)
  # Only the staged copies are on the path, so imports of the well-known types resolve to them.
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${protoc} -I ${src_dir} --cpp_out=lite:${gen_dir} ${protos}
    DEPENDS ${patched} protobuf::protoc
    WORKING_DIRECTORY ${src_dir}
    COMMENT "Generating C++ for ${target}"
    VERBATIM)

  set(sources ${outputs})
  list(FILTER sources INCLUDE REGEX "\\.cc$")
  add_library(${target} STATIC ${sources})
  # Generated code: its warnings are not ours, sanitizing it only costs build time, and nobody
  # steps through it in a debugger. SYSTEM keeps its headers' warnings out of consumers, and
  # puts these headers before the system's copies of the well-known types (full runtime).
  target_compile_options(${target} PRIVATE -w -fno-sanitize=all -g0)
  target_include_directories(${target} SYSTEM BEFORE PUBLIC ${gen_dir})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf-lite)
endfunction()
