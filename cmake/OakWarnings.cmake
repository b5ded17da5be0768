# Warnings are errors for the project's own code; system headers are excluded by -isystem.
add_library(oak_warnings INTERFACE)
target_compile_options(oak_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wimplicit-fallthrough -Werror)

set(OAK_SANITIZE "" CACHE STRING "Comma separated sanitizers, e.g. address,undefined")
if(OAK_SANITIZE)
  add_compile_options(-fsanitize=${OAK_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${OAK_SANITIZE})
endif()
