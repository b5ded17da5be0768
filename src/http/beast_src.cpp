// The single translation unit that compiles Boost.Asio and Boost.Beast (separate compilation keeps
// their templates out of every other file and saves minutes on a 2-core build).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
