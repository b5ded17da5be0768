// Asio's TLS layer, compiled once: the rest of Asio and Beast comes from oak_http (beast_src.cpp),
// which does not link OpenSSL.
#include <boost/asio/ssl/impl/src.hpp>
