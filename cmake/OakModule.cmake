# A runtime module the worker loads with dlopen (`<name>.so` beside `oakestra`).
#
# oak_runtime_module(<name> SOURCE <factory.cpp> LIBRARY <lib> PIC <static libs...>)
#
# The static libraries whose code ends up in the module must be position independent. Only the
# factory is exported; the module's copies of our static libraries stay private to it, so they
# never bind to the executable's.
function(oak_runtime_module name)
  cmake_parse_arguments(M "" "SOURCE;LIBRARY" "PIC" ${ARGN})
  foreach(lib IN LISTS M_PIC)
    set_target_properties(${lib} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endforeach()
  add_library(${name} MODULE ${M_SOURCE})
  target_link_libraries(${name} PRIVATE ${M_LIBRARY} oak_warnings)
  target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL -Wl,--as-needed -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES PREFIX "" CXX_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()
