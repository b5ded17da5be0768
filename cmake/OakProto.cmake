# Turns packaged .proto files into a static library of C++ messages and gRPC stubs.
#
# oak_grpc_library(<target>
#   STAGE <dir>                 # build-tree root that receives the patched copies and the output
#   FILES <root>:<rel> ...      # each proto as "<include root>:<path relative to it>"
#   SERVICES <rel> ...)         # the subset (relative paths) that declares services
#
# The copies are made at configure time with `import weak` rewritten to `import`: protoc 3.21
# aborts on weak imports. Generated headers are included as "<rel without .proto>.pb.h".
# Nothing generated leaves the build tree.

find_package(Protobuf REQUIRED GLOBAL)
find_package(gRPC CONFIG REQUIRED GLOBAL)
find_program(OAK_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

function(oak_grpc_library target)
  cmake_parse_arguments(P "" "STAGE" "FILES;SERVICES" ${ARGN})
  set(src_dir ${P_STAGE}/proto)
  set(gen_dir ${P_STAGE}/gen)
  file(MAKE_DIRECTORY ${gen_dir})

  set(protos)
  set(outputs)
  foreach(entry IN LISTS P_FILES)
    string(FIND "${entry}" ":" colon)
    string(SUBSTRING "${entry}" 0 ${colon} root)
    math(EXPR rest "${colon} + 1")
    string(SUBSTRING "${entry}" ${rest} -1 rel)

    # Configure again when a packaged proto changes (a Debian update).
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${root}/${rel})
    file(READ ${root}/${rel} text)
    string(REGEX REPLACE "(^|\n)import weak " "\\1import " text "${text}")
    # Rewrite only on change, so that configuring again does not regenerate everything.
    set(old "")
    if(EXISTS ${src_dir}/${rel})
      file(READ ${src_dir}/${rel} old)
    endif()
    if(NOT old STREQUAL text)
      file(WRITE ${src_dir}/${rel} "${text}")
    endif()

    list(APPEND protos ${rel})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    list(APPEND outputs ${gen_dir}/${stem}.pb.cc ${gen_dir}/${stem}.pb.h)
  endforeach()

  set(grpc_outputs)
  foreach(rel IN LISTS P_SERVICES)
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    list(APPEND grpc_outputs ${gen_dir}/${stem}.grpc.pb.cc ${gen_dir}/${stem}.grpc.pb.h)
  endforeach()

  list(TRANSFORM protos PREPEND ${src_dir}/ OUTPUT_VARIABLE patched)
  set(protoc $<TARGET_FILE:protobuf::protoc>)
  set(includes -I ${src_dir} -I ${Protobuf_INCLUDE_DIRS})
  add_custom_command(
    OUTPUT ${outputs} ${grpc_outputs}
    COMMAND ${protoc} ${includes} --cpp_out=${gen_dir} ${protos}
    COMMAND ${protoc} ${includes} --grpc_out=${gen_dir}
            --plugin=protoc-gen-grpc=${OAK_GRPC_CPP_PLUGIN} ${P_SERVICES}
    DEPENDS ${patched} protobuf::protoc ${OAK_GRPC_CPP_PLUGIN}
    WORKING_DIRECTORY ${src_dir}
    COMMENT "Generating C++ for ${target}"
    VERBATIM)

  set(sources ${outputs} ${grpc_outputs})
  list(FILTER sources INCLUDE REGEX "\\.cc$")
  add_library(${target} STATIC ${sources})
  # Generated code: its warnings are not ours, sanitizing it only costs build time, and nobody
  # steps through it in a debugger. SYSTEM keeps its headers' warnings out of consumers.
  target_compile_options(${target} PRIVATE -w -fno-sanitize=all -g0)
  target_include_directories(${target} SYSTEM PUBLIC ${gen_dir})
  target_link_libraries(${target} PUBLIC gRPC::grpc++ protobuf::libprotobuf)
endfunction()
