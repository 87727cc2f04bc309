# dmarcwatch_warnings: an interface target every module links, so the same
# warning set applies to all of our code and none of the system headers.
add_library(dmarcwatch_warnings INTERFACE)
target_compile_options(dmarcwatch_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(DMARC_WERROR)
  target_compile_options(dmarcwatch_warnings INTERFACE -Werror)
endif()
